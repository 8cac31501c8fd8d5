/**
 * JSON Schema (the OpenAPI 3.0 dialect the gateway publishes) → fast-check
 * arbitraries: values the schema accepts, and values it refuses together with
 * a note of what was broken.
 *
 * Hand-written because no maintained package does this for fast-check 4:
 * there is no json-schema→arbitrary converter in node_modules, and the
 * samplers that are (openapi-sampler) produce one example, not a distribution.
 * It covers only the keywords the published document uses (type, properties,
 * required, additionalProperties, enum, anyOf/oneOf, nullable, string
 * lengths/pattern/format, numeric bounds, items, example); anything else is
 * an error, so a new keyword in a schema is noticed instead of fuzzed wrong.
 *
 * Ajv is the oracle, not this file: every valid value is checked against the
 * schema and every invalid one must fail it (see `SchemaOracle`), so a
 * mistake here can only waste a run, never make a wrong claim.
 */
import fc, { type Arbitrary } from 'fast-check'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'

export interface JsonSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null'
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  enum?: unknown[]
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  nullable?: boolean
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: string
  minimum?: number
  maximum?: number
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  example?: unknown
  default?: unknown
  description?: string
}

const KNOWN_KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', 'enum', 'anyOf', 'oneOf', 'nullable',
  'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'items', 'minItems', 'maxItems', 'example', 'examples',
  'default', 'description', 'title'])

function checkKeywords (schema: JsonSchema, where: string): void {
  for (const key of Object.keys(schema)) {
    if (!KNOWN_KEYWORDS.has(key)) throw new Error(`schema-arbitrary: keyword "${key}" at ${where} is not supported; extend test/fuzz/schema-arbitrary.ts`)
  }
}

/**
 * Ajv set up like the services' body validation (service-kit and auth's
 * strict validator): no coercion, unknown properties refused, formats on.
 */
export class SchemaOracle {
  private readonly ajv = new Ajv({ allErrors: false, removeAdditional: false, coerceTypes: false, useDefaults: false, strict: false })
  private readonly compiled = new WeakMap<object, ValidateFunction>()
  constructor () { addFormats.default(this.ajv) }

  accepts (schema: JsonSchema, value: unknown): boolean {
    let validate = this.compiled.get(schema)
    if (validate === undefined) {
      validate = this.ajv.compile(schema)
      this.compiled.set(schema, validate)
    }
    return validate(value)
  }
}

// ---------------------------------------------------------------------------
// Strings: the awkward ones are the point (NUL, controls, RTL, emoji,
// combining marks, lone surrogates, SQL and template metacharacters).

const NASTY = ['\u0000', '\u0001', '\u001b[2J', '\u007f', '\u00a0', '\u200b', '\u202e', '\ufeff', '\ufffd', '\ud800', '\udfff',
  '😀', '👨‍👩‍👧', 'e\u0301', '𝕏', 'Ω', 'ß', 'İ', '\r\n', '\t', "'", '"', '\\', '`', '%00', '%s', '${x}', '{{x}}', '<script>',
  "' OR '1'='1", '; DROP TABLE users; --', '=cmd|', '../', '\u2028']

const nastyChar: Arbitrary<string> = fc.constantFrom(...NASTY)

/** Any string of code points with lengths in [min, max] as Ajv counts them (code points). */
export function anyString (minLength = 0, maxLength = 40): Arbitrary<string> {
  const unit = fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: nastyChar.filter((s) => [...s].length === 1) }
  )
  return fc.array(unit, { minLength, maxLength }).map((parts) => parts.join(''))
}

/** A string that can travel in an HTTP header (fetch refuses others before sending). */
export function headerString (minLength = 1, maxLength = 40): Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:;,=+/!~*()[]{}<>@#$%^&|?\'"`'), minLength, maxLength })
}

/** A long string that is cheap to make: a repeated unit (huge strings hit the length and body limits). */
export function hugeString (minLength: number): Arbitrary<string> {
  return fc.tuple(fc.constantFrom('a', '€', '😀', '\u0000', 'ab%'), fc.integer({ min: minLength, max: minLength * 4 + 1000 }))
    .map(([unit, n]) => unit.repeat(Math.ceil(n / [...unit].length)))
}

function formatted (format: string): Arbitrary<string> {
  switch (format) {
    case 'uuid': return fc.uuid()
    case 'email': return fc.emailAddress()
    case 'date': return fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))
    case 'date-time': return fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString())
    default: throw new Error(`schema-arbitrary: format "${format}" is not supported`)
  }
}

function lengthOk (schema: JsonSchema) {
  return (s: string): boolean => {
    const n = [...s].length
    return n >= (schema.minLength ?? 0) && n <= (schema.maxLength ?? Infinity)
  }
}

function validString (schema: JsonSchema): Arbitrary<string> {
  const min = schema.minLength ?? 0
  const max = schema.maxLength ?? Math.max(min, 64)
  let base: Arbitrary<string>
  if (schema.format !== undefined) base = formatted(schema.format).filter(lengthOk(schema))
  else if (schema.pattern !== undefined) base = fc.stringMatching(new RegExp(schema.pattern)).filter(lengthOk(schema))
  else {
    base = fc.oneof(
      { weight: 5, arbitrary: anyString(min, Math.min(max, min + 40)) },
      // exactly at the limits
      { weight: 1, arbitrary: anyString(min, min) },
      { weight: 1, arbitrary: anyString(max, max) }
    )
  }
  return base
}

// ---------------------------------------------------------------------------
// Numbers: the edges first.

const INT32_MAX = 2_147_483_647

function validInteger (schema: JsonSchema): Arbitrary<number> {
  const min = schema.minimum ?? -INT32_MAX - 1
  const max = schema.maximum ?? INT32_MAX
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(min, max, Math.min(max, min + 1), Math.max(min, max - 1)) },
    { weight: 4, arbitrary: fc.integer({ min, max }) }
  )
}

function validNumber (schema: JsonSchema): Arbitrary<number> {
  const min = schema.minimum ?? -Number.MAX_VALUE
  const max = schema.maximum ?? Number.MAX_VALUE
  return fc.oneof(
    fc.constantFrom(...[min, 0, 0.1, 0.01, 1e-7, 699, 699.5, 1e21, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, max].filter((n) => n >= min && n <= max)),
    fc.double({ min, max, noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: Math.max(min, -1e9), max: Math.min(max, 1e9) })
  )
}

// ---------------------------------------------------------------------------

/** Values the schema accepts (most of the time: the oracle has the last word). */
export function validValue (schema: JsonSchema, where = '#'): Arbitrary<unknown> {
  checkKeywords(schema, where)
  const inner = validValueOfType(schema, where)
  const withExample = schema.example === undefined ? inner : fc.oneof({ weight: 4, arbitrary: inner }, { weight: 1, arbitrary: fc.constant(schema.example) })
  return schema.nullable === true ? fc.oneof({ weight: 4, arbitrary: withExample }, { weight: 1, arbitrary: fc.constant(null) }) : withExample
}

function validValueOfType (schema: JsonSchema, where: string): Arbitrary<unknown> {
  const union = schema.anyOf ?? schema.oneOf
  if (union !== undefined) return fc.oneof(...union.map((s, i) => validValue(s, `${where}/anyOf/${i}`)))
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum)
  switch (schema.type) {
    case 'string': return validString(schema)
    case 'integer': return validInteger(schema)
    case 'number': return validNumber(schema)
    case 'boolean': return fc.boolean()
    case 'null': return fc.constant(null)
    case 'array': return fc.array(validValue(schema.items ?? {}, `${where}/items`), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) })
    case 'object': {
      const properties = schema.properties ?? {}
      const record: Record<string, Arbitrary<unknown>> = {}
      for (const [name, property] of Object.entries(properties)) record[name] = validValue(property, `${where}/properties/${name}`)
      return fc.record(record, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) })
    }
    case undefined: return fc.jsonValue({ maxDepth: 2 })
  }
}

// ---------------------------------------------------------------------------
// Invalid values: one thing broken, said in `why` (the oracle confirms it).

export interface Broken { value: unknown, why: string }

const otherTypes: Record<string, Arbitrary<unknown>> = {
  string: fc.oneof(anyString(0, 12), fc.constantFrom('', '699', '0x1', '1e0', ' 1', 'true', 'null')),
  integer: fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 31, 2 ** 53 + 1, -(2 ** 63))),
  number: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(1.5, -0.01, 1e308, -1e308, 5e-324)),
  boolean: fc.boolean(),
  object: fc.oneof(fc.constant({}), fc.dictionary(anyString(1, 8), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })),
  array: fc.oneof(fc.constant([]), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }), fc.constant([[699]]), fc.constant(['success'])),
  null: fc.constant(null)
}

/** Property names a client might try to slip in (mass assignment, prototype pollution). */
const SNEAKY_KEYS = ['__proto__', 'constructor', 'prototype', 'id', 'user_id', 'is_staff', 'staff', 'status', 'amount', 'created_at', 'password_hash', 'role', '']

function wrongType (schema: JsonSchema): Arbitrary<Broken> {
  const own = schema.type
  const options = Object.entries(otherTypes).filter(([type]) => type !== own && !(type === 'null' && schema.nullable === true) && !(own === 'number' && type === 'integer'))
  return fc.oneof(...options.map(([type, arb]) => arb.map((value) => ({ value, why: `${type} instead of ${own ?? 'the documented type'}` }))))
}

function brokenString (schema: JsonSchema): Array<Arbitrary<Broken>> {
  const out: Array<Arbitrary<Broken>> = []
  if (schema.maxLength !== undefined) {
    const max = schema.maxLength
    out.push(anyString(max + 1, max + 3).map((value) => ({ value, why: `longer than maxLength ${max}` })))
    out.push(hugeString(Math.max(max + 1, 5000)).map((value) => ({ value, why: `huge (${value.length} units)` })))
  }
  if ((schema.minLength ?? 0) > 0) {
    const min = schema.minLength ?? 0
    out.push(anyString(0, min - 1).map((value) => ({ value, why: `shorter than minLength ${min}` })))
  }
  if (schema.pattern !== undefined) {
    const re = new RegExp(schema.pattern)
    out.push(anyString(0, 30).filter((s) => !re.test(s)).map((value) => ({ value, why: `not matching ${schema.pattern}` })))
    // a valid value with one nasty character spliced in
    out.push(fc.tuple(fc.stringMatching(re), nastyChar, fc.nat()).map(([s, c, i]) => {
      const at = s.length === 0 ? 0 : i % s.length
      return { value: s.slice(0, at) + c + s.slice(at), why: `${JSON.stringify(c)} spliced into a ${schema.pattern} value` }
    }))
  }
  if (schema.format !== undefined) {
    const format = schema.format
    out.push(fc.oneof(anyString(0, 30), formatted(format).map((s) => `${s}\u0000`), formatted(format).map((s) => ` ${s}`), formatted(format).map((s) => s.slice(1)))
      .map((value) => ({ value, why: `not a ${format}` })))
  }
  return out
}

function brokenNumber (schema: JsonSchema): Array<Arbitrary<Broken>> {
  const out: Array<Arbitrary<Broken>> = []
  const step = schema.type === 'integer' ? 1 : 0.01
  if (schema.minimum !== undefined) {
    const min = schema.minimum
    out.push(fc.constantFrom(min - step, min - 1, -(2 ** 31), -1e20).filter((n) => n < min).map((value) => ({ value, why: `below minimum ${min}` })))
  }
  if (schema.maximum !== undefined) {
    const max = schema.maximum
    out.push(fc.constantFrom(max + step, max + 1, 2 ** 53, 1e20, 1e308).filter((n) => n > max).map((value) => ({ value, why: `above maximum ${max}` })))
  }
  if (schema.type === 'integer') out.push(fc.constantFrom(0.5, 1.5, 4.000001, 1e-9).map((value) => ({ value, why: 'not an integer' })))
  return out
}

function brokenObject (schema: JsonSchema, where: string): Array<Arbitrary<Broken>> {
  const out: Array<Arbitrary<Broken>> = []
  const valid = validValue(schema, where) as Arbitrary<Record<string, unknown>>
  const properties = schema.properties ?? {}
  const required = (schema.required ?? []).filter((k) => k in properties)
  if (required.length > 0) {
    out.push(fc.tuple(valid, fc.constantFrom(...required)).map(([v, key]) => {
      const copy = { ...v }
      delete copy[key]
      return { value: copy, why: `required "${key}" missing` }
    }))
  }
  if (schema.additionalProperties === false) {
    const extraName = fc.oneof(fc.constantFrom(...SNEAKY_KEYS), anyString(1, 12)).filter((k) => !(k in properties))
    out.push(fc.tuple(valid, extraName, fc.jsonValue({ maxDepth: 1 })).map(([v, key, extra]) => {
      // defineProperty: a plain assignment of "__proto__" would set the prototype, not a key
      const copy: Record<string, unknown> = { ...v }
      Object.defineProperty(copy, key, { value: extra, enumerable: true, configurable: true, writable: true })
      return { value: copy, why: `extra property ${JSON.stringify(key)}` }
    }))
  }
  const names = Object.keys(properties)
  if (names.length > 0) {
    out.push(fc.tuple(valid, fc.constantFrom(...names)).chain(([v, key]) => {
      const property = properties[key] as JsonSchema
      return invalidValue(property, `${where}/properties/${key}`).map(({ value, why }) => ({ value: { ...v, [key]: value }, why: `${key}: ${why}` }))
    }))
  }
  return out
}

/** Values the schema refuses; `why` says what was broken. */
export function invalidValue (schema: JsonSchema, where = '#'): Arbitrary<Broken> {
  checkKeywords(schema, where)
  const options: Array<Arbitrary<Broken>> = [wrongType(schema)]
  const union = schema.anyOf ?? schema.oneOf
  if (schema.enum !== undefined || union?.every((s) => s.enum !== undefined) === true) {
    const allowed = schema.enum ?? (union ?? []).flatMap((s) => s.enum ?? [])
    options.push(fc.oneof(anyString(0, 12), fc.constantFrom(...allowed.map((a) => typeof a === 'string' ? a.toUpperCase() : a), ...allowed.map((a) => ` ${String(a)}`)))
      .filter((v) => !allowed.includes(v)).map((value) => ({ value, why: 'not one of the allowed values' })))
  } else if (union !== undefined) {
    options.push(...union.map((s, i) => invalidValue(s, `${where}/anyOf/${i}`)))
  } else if (schema.type === 'string') options.push(...brokenString(schema))
  else if (schema.type === 'integer' || schema.type === 'number') options.push(...brokenNumber(schema))
  else if (schema.type === 'object') options.push(...brokenObject(schema, where))
  return fc.oneof(...options)
}
