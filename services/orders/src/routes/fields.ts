import type { FastifyRequest } from 'fastify'
import { HttpError } from '@topup/service-kit'

export const BLANK = 'must not be empty or only spaces'

type Details = Array<{ field: string, message: string }>

/** A 400 naming the fields, in the shape of a schema validation failure (service-kit's error handler). */
export function bodyError (details: Details): HttpError {
  const first = details[0]
  return new HttpError(400, first === undefined ? 'Invalid body' : `Invalid body: ${first.field} ${first.message}`, details)
}

function bodyRecord (request: FastifyRequest): Record<string, unknown> | undefined {
  const body = request.body
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : undefined
}

/**
 * preValidation hook: a named text field that is empty or only spaces is
 * refused in plain words (a game name of only spaces was once stored as an
 * empty name). A value that is not a string is left for the schema to refuse.
 */
export function notBlank (...fields: string[]) {
  return async function refuseBlank (request: FastifyRequest): Promise<void> {
    const body = bodyRecord(request)
    if (body === undefined) return
    const details: Details = fields
      .filter((field) => typeof body[field] === 'string' && body[field].trim() === '')
      .map((field) => ({ field, message: BLANK }))
    if (details.length > 0) throw bodyError(details)
  }
}

/**
 * preHandler hook: trims the named text fields of a body the schema has
 * passed. It runs after validation so that what the published schema refuses
 * (a code with a tab in it, a name over the length limit) is refused,
 * whatever trimming would have made of it.
 */
export function trimmed (...fields: string[]) {
  return async function trimFields (request: FastifyRequest): Promise<void> {
    const body = bodyRecord(request)
    if (body === undefined) return
    for (const field of fields) {
      const value = body[field]
      if (typeof value === 'string') body[field] = value.trim()
    }
  }
}

/**
 * A decimal amount as docs/DESIGN.md §2 writes money: digits, no leading zero (but
 * "0.50"), an optional fraction. No sign, exponent, spaces, `0x`/`0b`, or a
 * dot without digits after it.
 */
export const DECIMAL_AMOUNT = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/
/** The same with at most two places, as the catalog stores prices. */
export const CATALOG_PRICE = /^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$/

/**
 * preValidation hook: the body's `field`, when present, must be a string
 * matching `format`, else a 400 that says so in plain words. The schema has
 * the same pattern (it documents the contract), but Ajv's words for it, a
 * regular expression or a list of union branches, do not tell a client what
 * to send. A missing field is left to the schema ("is required").
 */
export function decimalAmount (field: string, format: RegExp, problem: string) {
  return async function checkDecimal (request: FastifyRequest): Promise<void> {
    const body = bodyRecord(request)
    if (body === undefined || !Object.hasOwn(body, field)) return
    const value = body[field]
    if (typeof value === 'string' && format.test(value)) return
    throw bodyError([{ field, message: problem }])
  }
}
