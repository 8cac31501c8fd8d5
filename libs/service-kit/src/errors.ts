import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { clientGone, noteClientGone } from './client-gone.js'
import { databaseUnavailable } from './db-errors.js'
import { plainMessage, relevantIssues, type ValidationIssue } from './validation-messages.js'

export interface ErrorBody {
  statusCode: number
  error: string
  message: string
  details?: Array<{ field: string, message: string }>
}

/** Builds the one error shape of docs/DESIGN.md §2. */
export function errorBody (statusCode: number, message: string, details?: ErrorBody['details']): ErrorBody {
  const body: ErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message }
  if (details !== undefined) body.details = details
  return body
}

/** An error a handler throws on purpose: its status and message reach the client. */
export class HttpError extends Error {
  constructor (readonly statusCode: number, message: string, readonly details?: ErrorBody['details'], readonly headers?: Record<string, string>) {
    super(message)
    this.name = 'HttpError'
  }
}

function fieldOf (issue: ValidationIssue): string {
  const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.')
  const child = issue.params.missingProperty ?? issue.params.additionalProperty
  if (typeof child === 'string') return path === '' ? child : `${path}.${child}`
  return path === '' ? '(root)' : path
}

/** The validation issues as the client reads them: one per field and problem, in plain words. */
function validationDetails (issues: readonly ValidationIssue[]): NonNullable<ErrorBody['details']> {
  const seen = new Set<string>()
  const details: NonNullable<ErrorBody['details']> = []
  for (const issue of relevantIssues(issues)) {
    const detail = { field: fieldOf(issue), message: plainMessage(issue) }
    const key = `${detail.field}\n${detail.message}`
    if (seen.has(key)) continue
    seen.add(key)
    details.push(detail)
  }
  return details
}

/**
 * One error handler for every service: client mistakes become a 4xx with the
 * reason (and the fields, for validation), anything else a bare 500 that is
 * logged but never described to the client.
 */
export default fp(async function errorHandling (app: FastifyInstance) {
  app.setErrorHandler(function (error: FastifyError & { details?: ErrorBody['details'] }, request, reply) {
    // the client left while its answer was on its way (the stream being sent was cut off):
    // nothing can be sent, and nothing of ours failed
    if (clientGone(request, reply)) {
      noteClientGone(request, error.code ?? error.message)
      return
    }
    if (error.validation !== undefined) {
      const details = validationDetails(error.validation as unknown as ValidationIssue[])
      const where = error.validationContext ?? 'request'
      const first = details[0]
      const message = first === undefined ? `Invalid ${where}` : `Invalid ${where}: ${first.field} ${first.message}`
      return reply.code(400).send(errorBody(400, message, details))
    }
    // PostgreSQL's data exceptions (class 22: a NUL byte in text, a date or number
    // out of range) come from a value the client sent that a schema let through
    const pgCode = (error as { code?: unknown }).code
    if (typeof pgCode === 'string' && /^22[0-9A-Z]{3}$/.test(pgCode) && error.statusCode === undefined) {
      request.log.warn({ code: pgCode, reason: error.message }, 'value refused by the database')
      return reply.code(400).send(errorBody(400, 'A value in the request cannot be stored or compared (for example a NUL character, or a date or number out of range).'))
    }
    // the database restarting or out of reach: the same request can be sent again in a moment
    if (error.statusCode === undefined && databaseUnavailable(error)) {
      request.log.warn({ code: error.code, reason: error.message }, 'database unavailable; answered 503')
      return reply.code(503).header('retry-after', '1').send(errorBody(503, 'The service is temporarily unavailable; retry in a moment.'))
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500
    if (status >= 400 && status < 500) {
      request.log.info({ code: error.code, statusCode: status }, error.message)
      if (error instanceof HttpError && error.headers !== undefined) void reply.headers(error.headers)
      // every 401 says how to authenticate (RFC 9110 §15.5.2): with a bearer token, unless it said otherwise
      if (status === 401 && !reply.hasHeader('www-authenticate')) void reply.header('www-authenticate', 'Bearer realm="topup"')
      if (status === 429 && error.message === '') error.message = 'Too many requests, retry later.'
      return reply.code(status).send(errorBody(status, error.message, error.details))
    }
    request.log.error({ err: error }, 'request failed')
    if (status === 503) return reply.code(503).send(errorBody(503, 'The service is temporarily unavailable.'))
    return reply.code(500).send(errorBody(500, 'Something went wrong on our side.'))
  })
  app.addHook('onRequestAbort', async (request) => { noteClientGone(request) })
  app.setNotFoundHandler(function (request, reply) {
    return reply.code(404).send(errorBody(404, `Route ${request.method} ${request.url.split('?')[0] ?? ''} not found`))
  })
}, { name: 'error-handling' })
