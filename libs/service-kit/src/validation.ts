import AjvCompiler, { type ValidatorFactory } from '@fastify/ajv-compiler'
import type { FastifySchemaCompiler } from 'fastify'
import type { FastifyRequest, FastifySchema, RouteOptions } from 'fastify'
import { HttpError } from './errors.js'

/**
 * How request parts are validated.
 *
 * Bodies are JSON: a field arrives with its type, so a body is validated with
 * no coercion at all. Fastify's default (`coerceTypes: 'array'`) let
 * `"0x4"` through as the integer 4, `[[699]]` as the price 699 and
 * `["success"]` as the status "success": the contract says what a field is,
 * nothing wider. Path parameters and query strings are text by nature and
 * keep Fastify's coercion, behind the digit check below.
 */
// The package's typings describe the pool's compiler as ajv's `compile`; at run
// time (and as Fastify calls it) it takes the route's schema definition.
type PoolFactory = (externalSchemas: unknown, options: { customOptions?: Record<string, unknown> }) => FastifySchemaCompiler<unknown>

export function buildValidator (): ValidatorFactory {
  const factory = AjvCompiler() as unknown as PoolFactory
  const build: PoolFactory = (externalSchemas, ajvOptions) => {
    const coercing = factory(externalSchemas, ajvOptions)
    const exact = factory(externalSchemas, { ...ajvOptions, customOptions: { ...ajvOptions.customOptions, coerceTypes: false } })
    return (route) => route.httpPart === 'body' ? exact(route) : coercing(route)
  }
  return build as unknown as ValidatorFactory
}

const WHOLE_NUMBER = /^-?(0|[1-9][0-9]*)$/
const DECIMAL_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/

interface PropertySchema { type?: unknown, anyOf?: unknown }
interface ObjectSchema { properties?: Record<string, PropertySchema> }

function numericFields (schema: unknown): Array<{ name: string, integer: boolean }> {
  const properties = (schema as ObjectSchema | undefined)?.properties
  if (properties === undefined) return []
  const out: Array<{ name: string, integer: boolean }> = []
  for (const [name, property] of Object.entries(properties)) {
    const types = [property.type].flat()
    if (types.includes('integer')) out.push({ name, integer: true })
    else if (types.includes('number')) out.push({ name, integer: false })
  }
  return out
}

/**
 * Path and query numbers in plain digits only. Ajv coerces text with
 * JavaScript's `Number()`, which also reads `0x1`, `1e0`, ` 1` and `+1`; this
 * check runs first (preValidation, while the values are still the raw text)
 * and refuses anything but digits, with the same 400 shape as a schema error.
 */
function digitsCheck (part: 'params' | 'querystring', fields: Array<{ name: string, integer: boolean }>) {
  const where = part === 'params' ? 'params' : 'querystring'
  return async function checkDigits (request: FastifyRequest): Promise<void> {
    const values = (part === 'params' ? request.params : request.query) as Record<string, unknown> | undefined
    if (values === undefined || values === null) return
    const details: Array<{ field: string, message: string }> = []
    for (const { name, integer } of fields) {
      for (const value of [values[name]].flat()) {
        if (typeof value !== 'string') continue
        if (!(integer ? WHOLE_NUMBER : DECIMAL_NUMBER).test(value)) {
          details.push({ field: name, message: integer ? 'must be a whole number written in digits (e.g. 42)' : 'must be a number written in digits (e.g. 4.5)' })
        }
      }
    }
    const first = details[0]
    if (first !== undefined) throw new HttpError(400, `Invalid ${where}: ${first.field} ${first.message}`, details)
  }
}

/** Adds the digit check to every route with numeric path or query fields (an onRoute hook). */
export function strictNumbersOnRoute (route: RouteOptions): void {
  const schema = route.schema as FastifySchema | undefined
  if (schema === undefined) return
  const hooks = [route.preValidation ?? []].flat()
  for (const part of ['params', 'querystring'] as const) {
    const fields = numericFields(schema[part])
    if (fields.length > 0) hooks.unshift(digitsCheck(part, fields))
  }
  if (hooks.length > 0) route.preValidation = hooks
}
