import type { FastifyReply, FastifyRequest } from 'fastify'
import { loggableUrl } from './logger.js'

/**
 * A client that disconnects before its answer is ordinary traffic, not a
 * failure of ours: it gets one line at info, without a stack, however it
 * shows up (Fastify's onRequestAbort for a request still arriving, or the
 * error of a response stream cut off when its socket closed, which used to
 * reach the error handler and be logged as a 500 with a stack: 1509 lines
 * in one 20-second burst of aborted top-ups through the gateway).
 */
const NOTED = Symbol('client gone noted')

type Noted = FastifyRequest & { [NOTED]?: boolean }

export function noteClientGone (request: FastifyRequest, reason?: string): void {
  const noted = request as Noted
  if (noted[NOTED] === true) return
  noted[NOTED] = true
  request.log.info({ method: request.method, url: loggableUrl(request.url), ...(reason === undefined ? {} : { reason }) }, 'client closed the connection before the response')
}

/** Nobody is there to answer any more. */
export function clientGone (request: FastifyRequest, reply: FastifyReply): boolean {
  // (not request.raw.destroyed: on Node 20 an IncomingMessage is destroyed as soon as its body
  // has been read, and every error answer to a POST then went unsent)
  return reply.raw.destroyed || request.raw.socket?.destroyed === true
}
