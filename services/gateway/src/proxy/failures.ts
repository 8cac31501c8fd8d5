import type { FastifyReply, RawServerBase, RouteGenericInterface } from 'fastify'
import { errorBody, HttpError } from '@topup/service-kit'
import type { ServiceName } from '../routes.js'

// Upstream failures → the platform's error shape (docs/DESIGN.md §2)

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT', 'FST_REPLY_FROM_SERVICE_UNAVAILABLE'])
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT',
  'FST_REPLY_FROM_TIMEOUT', 'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT'])

/** The error and everything it was caused by (reply-from wraps undici's errors). */
function errorChain (error: unknown): unknown[] {
  const chain: unknown[] = []
  const queue: unknown[] = [error]
  while (queue.length > 0 && chain.length < 20) {
    const current = queue.shift()
    if (current === null || typeof current !== 'object' || chain.includes(current)) continue
    chain.push(current)
    const { cause, errors } = current as { cause?: unknown, errors?: unknown }
    if (cause !== undefined) queue.push(cause)
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]))
  }
  return chain
}

function codeOf (error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

export function upstreamFailure (service: ServiceName, error: unknown): { statusCode: number, message: string } {
  const chain = errorChain(error)
  const tooLarge = chain.find((e): e is HttpError => e instanceof HttpError && e.statusCode === 413)
  if (tooLarge !== undefined) return { statusCode: 413, message: tooLarge.message }
  const codes = chain.map(codeOf)
  if (codes.some((c) => c !== undefined && TIMED_OUT.has(c))) {
    return { statusCode: 504, message: `The ${service} service did not answer in time.` }
  }
  if (codes.some((c) => c !== undefined && UNREACHABLE.has(c))) {
    return { statusCode: 503, message: `The ${service} service is unavailable.` }
  }
  return { statusCode: 502, message: `The ${service} service did not send a valid response.` }
}

export function onUpstreamError (service: ServiceName) {
  return function (reply: FastifyReply<RouteGenericInterface, RawServerBase>, { error }: { error: Error }): void {
    if (reply.sent || reply.raw.destroyed) return
    const { statusCode, message } = upstreamFailure(service, error)
    if (statusCode === 413) reply.header('connection', 'close')
    // reply-from has already logged the error itself ('response errored')
    reply.log.info({ service, statusCode }, message)
    void reply.code(statusCode).type('application/json; charset=utf-8').send(errorBody(statusCode, message))
  }
}
