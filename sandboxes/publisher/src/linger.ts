import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Holds an answer back for `ms` on a timer, so the event loop goes on serving
 * every other call meanwhile. The wait ends early when the client leaves (its
 * connection closed before the answer: nothing is waiting for it any more) or
 * the sandbox shuts down (`closing`: an answer held for seconds would hold the
 * shutdown as long). Resolves true while the client is still there.
 */
export async function linger (request: FastifyRequest, reply: FastifyReply, ms: number, closing: AbortSignal): Promise<boolean> {
  const left = new AbortController()
  // a response's 'close' before it was sent: the connection went away under it
  const onClose = (): void => { left.abort() }
  reply.raw.once('close', onClose)
  try {
    await sleep(ms, undefined, { signal: AbortSignal.any([left.signal, closing]) })
  } catch (err) {
    if ((err as { name?: string }).name !== 'AbortError') throw err
  } finally {
    reply.raw.off('close', onClose)
  }
  return !(left.signal.aborted || reply.raw.destroyed || request.raw.socket?.destroyed === true)
}
