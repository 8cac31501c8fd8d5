/**
 * Requests generated from the published OpenAPI document: for every
 * operation (path + method), arbitraries of requests the document says are
 * valid and of requests it says are not, each with the credential and the
 * answer the contract promises.
 *
 * What the document says is taken literally: `security: bearerAuth` means a
 * token is required (docs/DESIGN.md §2: none or a bad one → 401), a documented 403
 * means staff only ("Staff routes answer 403 to players"), `webhookSignature`
 * means the X-Topup-Signature of docs/DESIGN.md §2.2, parameters and bodies are
 * checked against their schemas by `SchemaOracle`.
 */
import fc, { type Arbitrary } from 'fast-check'
import { anyString, headerString, hugeString, invalidValue, SchemaOracle, validValue, type JsonSchema } from './schema-arbitrary.js'
import { OVERSIZED_BODY_BYTES, type FuzzRequest } from './send.js'
import type { Credential, TokenKind } from './tokens.js'

// ---------------------------------------------------------------------------
// The document

interface Parameter { name: string, in: 'path' | 'query' | 'header' | 'cookie', required?: boolean, schema: JsonSchema }
interface OperationObject {
  parameters?: Parameter[]
  requestBody?: { required?: boolean, content: Record<string, { schema: JsonSchema, example?: unknown }> }
  security?: Array<Record<string, unknown>>
  responses: Record<string, unknown>
}
export interface OpenApiDocument { paths: Record<string, Record<string, OperationObject>> }

export interface Operation {
  /** `POST /api/topup/` */
  key: string
  method: string
  path: string
  bearer: boolean
  staffOnly: boolean
  signed: boolean
  pathParams: Parameter[]
  queryParams: Parameter[]
  headerParams: Parameter[]
  body: { schema: JsonSchema, required: boolean, examples: unknown[] } | undefined
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch']
const SIGNATURE_HEADER = 'x-topup-signature'

export function operationsOf (document: OpenApiDocument): Operation[] {
  const out: Operation[] = []
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s))
      const parameters = op.parameters ?? []
      const unsupported = parameters.filter((p) => p.in === 'cookie')
      if (unsupported.length > 0) throw new Error(`${method} ${path}: cookie parameters are not fuzzed yet`)
      const json = op.requestBody?.content['application/json']
      if (op.requestBody !== undefined && json === undefined) throw new Error(`${method} ${path}: a body that is not JSON is not fuzzed yet`)
      out.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        bearer: schemes.includes('bearerAuth'),
        staffOnly: '403' in op.responses,
        signed: schemes.includes('webhookSignature'),
        pathParams: parameters.filter((p) => p.in === 'path'),
        queryParams: parameters.filter((p) => p.in === 'query'),
        headerParams: parameters.filter((p) => p.in === 'header' && p.name.toLowerCase() !== SIGNATURE_HEADER),
        body: json === undefined ? undefined : { schema: json.schema, required: op.requestBody?.required === true, examples: json.example === undefined ? [] : [json.example] }
      })
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// Parameters travel as text: what the services accept on the wire

/**
 * Whether a path/query/header text passes its schema the way the services
 * read it: numbers only as plain decimal digits within the bounds (service-kit
 * coerces parameters, but only from plain digits), other types as the text.
 */
function wireAccepts (oracle: SchemaOracle, schema: JsonSchema, sent: string): boolean {
  // what the server decodes: UTF-8 of the text (a lone surrogate arrives as U+FFFD)
  const text = Buffer.from(sent, 'utf8').toString('utf8')
  if (schema.type === 'integer' || schema.type === 'number') {
    if (!/^\d+$/.test(text)) return false
    return oracle.accepts(schema, Number(text))
  }
  return oracle.accepts(schema, text)
}

/**
 * A value from a pool that may grow while the run goes on (ids of orders the
 * fuzzer itself created, the catalog as it is now): read when the value is
 * generated, not when the arbitrary is built.
 */
export function fromPool<T> (pool: readonly T[]): Arbitrary<T> {
  if (pool.length === 0) throw new Error('fromPool: empty pool')
  return fc.nat().map((i) => pool[i % pool.length] as T)
}

function validWire (oracle: SchemaOracle, p: Parameter, pool: readonly string[]): Arbitrary<string> {
  const header = p.in === 'header'
  const generated = (header && p.schema.type === 'string' && p.schema.pattern === undefined && p.schema.format === undefined
    ? headerString(p.schema.minLength ?? 1, Math.min(p.schema.maxLength ?? 40, 60))
    : validValue(p.schema, `${p.in}.${p.name}`).map(String)
  ).filter((s) => wireAccepts(oracle, p.schema, s) && (!header || /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(s)))
  return pool.length === 0 ? generated : fc.oneof(generated, fromPool(pool))
}

/** Percent-encodes every byte of the UTF-8 text but the unreserved ones (encodeURIComponent throws on a lone surrogate). */
export function percentEncode (text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Already-encoded path segments that decode to something awkward (or do not decode at all). */
const ENCODED_SEGMENTS = ['%201', '1%20', '1%00', '%00', '%2e%2e', '%2E', '1%2F2', '%E2%80%AE1', '%C0%80', '%FF', '%ZZ', '%', '1%3Bx=1', '%3F1', '%231']

/** Texts that look like numbers to a lenient parser but are not plain digits. */
const NUMBERISH = ['0x1', '0b1', '0o7', '1e0', '1.0', '1.', '.1', '+1', '-1', '-0', ' 1', '1 ', '%201', '１', '٣', '1_000', 'Infinity', 'NaN', '9'.repeat(400), '0', '2147483648', '00000000000000000001']

function invalidWire (oracle: SchemaOracle, p: Parameter): Arbitrary<{ text: string, encoded: boolean, why: string }> {
  const header = p.in === 'header'
  const candidates = header
    ? fc.oneof(headerString((p.schema.maxLength ?? 40) + 1, (p.schema.maxLength ?? 40) + 40))
    : fc.oneof(
      fc.constantFrom(...NUMBERISH),
      anyString(0, 20),
      invalidValue(p.schema, `${p.in}.${p.name}`).map((b) => typeof b.value === 'string' ? b.value : JSON.stringify(b.value)),
      hugeString(p.schema.maxLength ?? 300).map((s) => s.slice(0, 3000))
    )
  const plain = candidates
    // an empty path segment would name another route (GET /api/orders/ is the list)
    .filter((s) => !wireAccepts(oracle, p.schema, s) && !(p.in === 'path' && s === ''))
    .map((text) => ({ text, encoded: false, why: `${p.in} ${p.name}=${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)} refused by its schema` }))
  if (p.in !== 'path') return plain
  const encoded = fc.constantFrom(...ENCODED_SEGMENTS).filter((segment) => {
    try {
      return !wireAccepts(oracle, p.schema, decodeURIComponent(segment))
    } catch {
      return true // not decodable: refused whatever the schema
    }
  }).map((text) => ({ text, encoded: true, why: `path ${p.name} sent as ${text}` }))
  return fc.oneof({ weight: 4, arbitrary: plain }, { weight: 1, arbitrary: encoded })
}

// ---------------------------------------------------------------------------
// Bodies

/** Content types under which a JSON body must be refused (415) — or that are not JSON at all. */
const NOT_JSON_TYPES = ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream', 'text/html', 'image/png']
/** Content types that are JSON, spelled as a client might. */
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8']

export interface Body { raw: string | Uint8Array | undefined, contentType: string | undefined, why: string }

function jsonBody (value: unknown): Arbitrary<Body> {
  return fc.constantFrom(...JSON_TYPES).map((contentType) => ({ raw: JSON.stringify(value), contentType, why: 'JSON' }))
}

/** Bytes that are not one JSON document (each must be a 400, or 413 when too large). */
const malformedJson: Arbitrary<{ raw: string | Uint8Array, why: string }> = fc.oneof(
  fc.constantFrom('', ' ', '{', '}', '{"a":', '{"a":1,}', "{'a':1}", '{a:1}', '[1,2', 'nul', 'tru', 'undefined', 'NaN', '{"a":NaN}', '{"a":Infinity}',
    '{"a":01}', '{"a":.5}', '{"a":"\u0000"}', '{"a":"\n"}', '{"a":"\\x41"}', '{"a":"\\u12"}', '"\\ud800', '{"a":1}{"b":2}', '{"a":1} x', '\u0000', '\ufeff{"a"', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}')
    .map((raw) => ({ raw, why: `malformed JSON ${JSON.stringify(raw)}` })),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => ({ raw: '['.repeat(n), why: `${n} unclosed brackets` })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).filter((bytes) => {
    try {
      JSON.parse(Buffer.from(bytes).toString('utf8'))
      return false
    } catch {
      return true
    }
  }).map((raw) => ({ raw, why: 'random bytes' })),
  fc.constant(0).map(() => ({ raw: `{"a":"${'x'.repeat(OVERSIZED_BODY_BYTES + 10)}"}`, why: 'over the body limit' }))
)

/** A body the operation must refuse, with a note of why. */
function invalidBody (oracle: SchemaOracle, schema: JsonSchema, valid: Arbitrary<unknown>, required: boolean): Arbitrary<Body> {
  const refusedValue = invalidValue(schema, 'body').filter((b) => !oracle.accepts(schema, b.value))
  const options: Array<{ weight: number, arbitrary: Arbitrary<Body> }> = [
    { weight: 6, arbitrary: refusedValue.chain((b) => jsonBody(b.value).map((body) => ({ ...body, why: `body ${b.why}` }))) },
    { weight: 2, arbitrary: fc.tuple(malformedJson, fc.constantFrom(...JSON_TYPES)).map(([m, contentType]) => ({ raw: m.raw, contentType, why: m.why })) },
    // a valid document under a type that is not JSON, or under none
    { weight: 2, arbitrary: fc.tuple(valid, fc.constantFrom(...NOT_JSON_TYPES, undefined)).map(([v, contentType]) => ({ raw: Buffer.from(JSON.stringify(v)), contentType, why: `valid JSON as ${contentType ?? 'no content type'}` })) }
  ]
  if (required) options.push({ weight: 1, arbitrary: fc.constantFrom<Body>({ raw: undefined, contentType: undefined, why: 'no body' }, { raw: undefined, contentType: 'application/json', why: 'no body, JSON content type' }) })
  return fc.oneof(...options)
}

// ---------------------------------------------------------------------------
// Requests

/** Pools may grow or be refilled during a run (see `fromPool`), never become empty. */
export interface Pools {
  /** Known good values per `METHOD /path in.name` or `METHOD /path body.property` (ids, usernames, tokens that exist). */
  values: Record<string, unknown[]>
  /** Whole bodies that may succeed, per operation key (a top-up of a real product). */
  bodies: Record<string, unknown[]>
}

export interface Signer {
  /** X-Topup-Signature for the raw body: valid, or broken as named. */
  sign: (raw: string | Uint8Array, how: SignatureKind) => string | undefined
}
export type SignatureKind = 'valid' | 'none' | 'stale' | 'future' | 'wrong secret' | 'other body' | 'malformed' | 'no v1' | 'uppercase t'
export const BAD_SIGNATURES: readonly SignatureKind[] = ['none', 'stale', 'future', 'wrong secret', 'other body', 'malformed', 'no v1', 'uppercase t']

export interface GeneratedRequest {
  request: FuzzRequest
  credential: TokenKind
  /** The statuses the contract allows; undefined: any 4xx (phase 1) or any non-5xx (phase 2). */
  expect?: number[]
  /** Statuses the contract rules out for this request. */
  forbid?: number[]
}

interface Parts {
  path: string
  query: string
  headers: Record<string, string>
  body: Body | undefined
  why: string[]
  /**
   * A path parameter is broken: the router may refuse the URL itself (400 for
   * an escape it cannot decode, 414 past its parameter length) before any
   * route hook, authentication included, runs.
   */
  brokenPath?: true
}

/** What the router may answer before the route's own hooks for a broken path parameter. */
const ROUTER_REFUSALS = [400, 404, 414]

function fillPath (template: string, values: Record<string, { text: string, encoded: boolean }>): string {
  return template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = values[name]
    if (v === undefined) throw new Error(`no value for path parameter ${name}`)
    return v.encoded ? v.text : percentEncode(v.text)
  })
}

/** The documented path, or the same without its trailing slash (docs/DESIGN.md §2: both work). */
function pathVariant (path: string): Arbitrary<string> {
  return path.endsWith('/') && path.length > 1 ? fc.constantFrom(path, path.slice(0, -1)) : fc.constant(path)
}

export class RequestFactory {
  private readonly oracle = new SchemaOracle()
  constructor (private readonly pools: Pools) {}

  private pool (op: Operation, where: string): readonly unknown[] {
    return this.pools.values[`${op.key} ${where}`] ?? []
  }

  private validBodyValue (op: Operation, usePools = true): Arbitrary<unknown> {
    const body = op.body
    if (body === undefined) return fc.constant(undefined)
    const schema = body.schema
    let generated: Arbitrary<unknown> = validValue(schema, `${op.key} body`)
    const properties = usePools ? Object.keys(schema.properties ?? {}).filter((name) => this.pool(op, `body.${name}`).length > 0) : []
    if (properties.length > 0) {
      // some properties from the pools (ids and names that exist), the rest generated
      generated = fc.tuple(generated, fc.subarray(properties)).chain(([value, names]) =>
        fc.tuple(...names.map((n) => fromPool(this.pool(op, `body.${n}`)))).map((picked) => {
          if (value === null || typeof value !== 'object') return value
          const copy: Record<string, unknown> = { ...value }
          names.forEach((n, i) => { copy[n] = picked[i] })
          return copy
        }))
    }
    const known: Array<Arbitrary<unknown>> = body.examples.map((e) => fc.constant(e))
    const bodies = usePools ? this.pools.bodies[op.key] ?? [] : []
    if (bodies.length > 0) known.push(fromPool(bodies))
    const all = known.length === 0 ? generated : fc.oneof({ weight: 3, arbitrary: generated }, { weight: 2, arbitrary: fc.oneof(...known) })
    return all.filter((v) => this.oracle.accepts(schema, v))
  }

  /** Path, query, headers and body as documented. */
  private validParts (op: Operation, usePools = true): Arbitrary<Parts> {
    const pathValues = fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, validWire(this.oracle, p, usePools ? this.pool(op, `path.${p.name}`) as string[] : []).map((text) => ({ text, encoded: false }))])))
    // an optional parameter is left out about one time in three
    const maybe = (p: Parameter, where: string): Arbitrary<string | undefined> => {
      const value = validWire(this.oracle, p, usePools ? this.pool(op, where) as string[] : [])
      return p.required === true ? value : fc.option(value, { nil: undefined, freq: 3 })
    }
    const query = fc.tuple(...op.queryParams.map((p) => maybe(p, `query.${p.name}`)
      .map((v) => v === undefined ? '' : `${percentEncode(p.name)}=${percentEncode(v)}`)))
    const headers = fc.tuple(...op.headerParams.map((p) => maybe(p, `header.${p.name}`)
      .map((v) => v === undefined ? [] : [[p.name, v]])))
    const body = op.body === undefined ? fc.constant(undefined) : this.validBodyValue(op, usePools).chain(jsonBody)
    return fc.record({ pathValues, path: pathVariant(op.path), query, headers, body }).map((r) => ({
      path: fillPath(r.path, r.pathValues),
      query: r.query.filter((q) => q !== '').join('&'),
      headers: Object.fromEntries(r.headers.flat()) as Record<string, string>,
      body: r.body,
      why: ['as documented']
    }))
  }

  /** As documented but for one thing (a parameter or the body). */
  private invalidParts (op: Operation): Arbitrary<Parts> | undefined {
    const breakers: Array<Arbitrary<Parts>> = []
    for (const p of [...op.pathParams, ...op.queryParams, ...op.headerParams]) {
      breakers.push(fc.tuple(this.validParts(op), invalidWire(this.oracle, p), pathVariant(op.path), fc.record(Object.fromEntries(op.pathParams.map((q) => [q.name, validWire(this.oracle, q, [])]))))
        .map(([parts, bad, template, pathValues]) => {
          if (p.in === 'path') {
            const values = Object.fromEntries(Object.entries(pathValues).map(([k, v]) => [k, { text: v, encoded: false }]))
            values[p.name] = { text: bad.text, encoded: bad.encoded }
            return { ...parts, path: fillPath(template, values), why: [bad.why], brokenPath: true as const }
          }
          if (p.in === 'query') {
            const others = parts.query.split('&').filter((q) => q !== '' && !q.startsWith(`${percentEncode(p.name)}=`))
            return { ...parts, query: [...others, `${percentEncode(p.name)}=${percentEncode(bad.text)}`].join('&'), why: [bad.why] }
          }
          return { ...parts, headers: { ...parts.headers, [p.name]: bad.text }, why: [bad.why] }
        }))
    }
    const body = op.body
    if (body !== undefined) {
      breakers.push(fc.tuple(this.validParts(op), invalidBody(this.oracle, body.schema, this.validBodyValue(op), body.required))
        .map(([parts, b]) => ({ ...parts, body: b, why: [b.why] })))
    }
    return breakers.length === 0 ? undefined : fc.oneof(...breakers)
  }

  private build (op: Operation, parts: Parts, credential: Credential, signature: string | undefined, note: string): FuzzRequest {
    const headers: Record<string, string> = { ...parts.headers }
    if (credential.authorization !== undefined) headers.authorization = credential.authorization
    if (parts.body?.contentType !== undefined) headers['content-type'] = parts.body.contentType
    if (signature !== undefined) headers[SIGNATURE_HEADER] = signature
    const request: FuzzRequest = {
      method: op.method,
      operation: op.key,
      url: parts.query === '' ? parts.path : `${parts.path}?${parts.query}`,
      headers,
      note: `${note}; ${credential.label}; ${parts.why.join(', ')}`
    }
    if (parts.body?.raw !== undefined) request.body = parts.body.raw
    return request
  }

  /**
   * Requests the contract says must be refused, each with the statuses it
   * allows (undefined: any 4xx): no or a bad token on a token route (401), a
   * player on a staff route (403), a bad webhook signature (401), and a
   * request broken in one place with the right credential (4xx).
   */
  rejected (op: Operation, credentials: Record<TokenKind, Arbitrary<Credential>>, signer: Signer): Arbitrary<GeneratedRequest> | undefined {
    const options: Array<Arbitrary<GeneratedRequest>> = []
    const anyParts = (): Arbitrary<Parts> => {
      const invalid = this.invalidParts(op)
      return invalid === undefined ? this.validParts(op) : fc.oneof(this.validParts(op), invalid)
    }
    const tooLarge = (r: FuzzRequest): boolean => r.body !== undefined && (typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.length) > OVERSIZED_BODY_BYTES
    if (op.bearer) {
      options.push(fc.tuple(anyParts(), fc.oneof(credentials.none, credentials.bad)).map(([parts, credential]) => {
        const request = this.build(op, parts, credential, undefined, 'must be 401 (no valid token)')
        return { request, credential: credential.kind, expect: tooLarge(request) ? [413, 0] : parts.brokenPath === true ? [401, ...ROUTER_REFUSALS] : [401] }
      }))
    }
    if (op.staffOnly) {
      options.push(fc.tuple(anyParts(), credentials.player).map(([parts, credential]) => {
        const request = this.build(op, parts, credential, undefined, 'must be 403 (a player on a staff route)')
        return { request, credential: credential.kind, expect: tooLarge(request) ? [413, 0] : parts.brokenPath === true ? [403, ...ROUTER_REFUSALS] : [403] }
      }))
    }
    if (op.signed) {
      options.push(fc.tuple(this.validParts(op), fc.constantFrom(...BAD_SIGNATURES), fc.oneof(credentials.none, credentials.bad, credentials.player)).map(([parts, how, credential]) => {
        const request = this.build(op, parts, credential, signer.sign(parts.body?.raw ?? '', how), `must be 401 (signature: ${how})`)
        return { request, credential: credential.kind, expect: [401] }
      }))
      // signed, as documented, for a transaction that does not exist
      options.push(fc.tuple(this.validParts(op, false), credentials.none).map(([parts, credential]) => {
        const request = this.build(op, parts, credential, signer.sign(parts.body?.raw ?? '', 'valid'), 'must be 404 (unknown transaction)')
        return { request, credential: credential.kind, expect: [404] }
      }))
    }
    const invalid = this.invalidParts(op)
    if (invalid !== undefined) {
      const rightCredential = op.staffOnly ? credentials.staff : op.bearer ? fc.oneof(credentials.player, credentials.staff) : fc.oneof(credentials.none, credentials.player, credentials.bad)
      options.push(fc.tuple(invalid, rightCredential).map(([parts, credential]) => {
        const signature = op.signed ? signer.sign(parts.body?.raw ?? '', 'valid') : undefined
        const request = this.build(op, parts, credential, signature, 'must be a 4xx (refused by the schema)')
        // a valid token of the right kind is never the reason for the refusal
        return { request, credential: credential.kind, ...(tooLarge(request) ? { expect: [413, 0] } : {}), ...(op.bearer ? { forbid: [401, 403] } : {}) }
      }))
    }
    return options.length === 0 ? undefined : fc.oneof(...options)
  }

  /** Requests as documented, with any credential: any answer but a 5xx. */
  accepted (op: Operation, credentials: Record<TokenKind, Arbitrary<Credential>>, signer: Signer): Arbitrary<GeneratedRequest> {
    const credential = op.staffOnly
      ? fc.oneof({ weight: 4, arbitrary: credentials.staff }, { weight: 1, arbitrary: credentials.player }, { weight: 1, arbitrary: credentials.bad })
      : fc.oneof({ weight: 2, arbitrary: credentials.player }, { weight: 1, arbitrary: credentials.staff }, { weight: 1, arbitrary: credentials.none }, { weight: 1, arbitrary: credentials.bad })
    const signature = fc.oneof({ weight: 3, arbitrary: fc.constant<SignatureKind>('valid') }, { weight: 1, arbitrary: fc.constantFrom(...BAD_SIGNATURES) })
    return fc.tuple(this.validParts(op), credential, signature).map(([parts, c, how]) => ({
      request: this.build(op, parts, c, op.signed ? signer.sign(parts.body?.raw ?? '', how) : undefined, `as documented${op.signed ? ` (signature: ${how})` : ''}`),
      credential: c.kind
    }))
  }
}

/**
 * A documented path under a method the document does not list for it (DELETE
 * /api/games/1, PUT /api/profile/, GET /api/topup/): must be a 4xx and change
 * nothing, whoever asks.
 */
export function undocumentedMethods (operations: readonly Operation[], credentials: Record<TokenKind, Arbitrary<Credential>>): Array<Arbitrary<GeneratedRequest>> {
  const byPath = new Map<string, Operation[]>()
  for (const op of operations) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op])
  const out: Array<Arbitrary<GeneratedRequest>> = []
  for (const [path, ops] of byPath) {
    const missing = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !ops.some((op) => op.method === m))
    if (missing.length === 0) continue
    // plain values for the path parameters: 1 for numbers, a fresh uuid, the documented name
    const filled = fc.record(Object.fromEntries((ops[0]?.pathParams ?? []).map((p) => [p.name,
      p.schema.type === 'integer' ? fc.constantFrom('1', '2') : p.schema.format === 'uuid' ? fc.uuid() : fc.constantFrom('dashboard.js', 'x')])))
    out.push(fc.tuple(fc.constantFrom(...missing), pathVariant(path), filled, fc.oneof(credentials.staff, credentials.player, credentials.none, credentials.bad),
      fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })).map(([method, template, values, credential, body]) => {
      const headers: Record<string, string> = {}
      if (credential.authorization !== undefined) headers.authorization = credential.authorization
      if (body !== undefined) headers['content-type'] = 'application/json'
      const request: FuzzRequest = {
        method,
        operation: `(a method not documented for its path)`,
        url: fillPath(template, Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { text: v, encoded: false }]))),
        headers,
        note: `must be a 4xx (method not documented for the path); ${credential.label}`
      }
      if (body !== undefined) request.body = JSON.stringify(body)
      return { request, credential: credential.kind }
    }))
  }
  return out
}
