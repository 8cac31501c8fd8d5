import { PassThrough } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '@topup/service-kit'
import { Type } from 'typebox'
import type { LiveMessage } from '../../plugins/live.js'

export interface LiveOptions {
  /** A comment line on every open stream this often (LIVE_HEARTBEAT_MS). */
  heartbeatMs: number
}

/** A stream ends at the access token's expiry, or after this, whichever is first: the page reconnects with a fresh token, so a revoked staff member stops hearing. */
const MAX_STREAM_MS = 15 * 60_000
/** A client that reads nothing while this much is queued for it is dropped (it reconnects and reloads). */
const MAX_BUFFERED_BYTES = 1 << 20
/** The reconnection delay the browser's EventSource (or the page's own reader) is told to use. */
const RETRY_MS = 2000

/**
 * GET /api/analytics/live/: Server-Sent Events telling a staff dashboard that
 * the read model changed (src/plugins/live.ts), at commit of each event:
 *
 *     retry: 2000
 *     event: ready            data: {"listening":true}
 *     event: changes          data: {"changes":[{"kind":"payment","order_id":…,"status":"success"}],"count":1}
 *     event: resync           data: {}        (changes may have been missed: reload everything)
 *     event: reauthenticate   data: {}        (the token expires: reconnect with a fresh one)
 *     : heartbeat             (a comment every LIVE_HEARTBEAT_MS)
 *
 * Staff only (401/403 as every staff route). An open stream holds no database
 * connection and costs one shared timer; the heartbeat keeps the gateway (which
 * cuts a response silent for UPSTREAM_TIMEOUT_MS) and proxies from closing it.
 * Streams are ended when the server closes, so a shutdown never waits for them.
 */
const liveRoutes: FastifyPluginAsyncTypebox<LiveOptions> = async (app, options) => {
  const streams = new Set<PassThrough>()
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': heartbeat\n\n')
  }, options.heartbeatMs)
  heartbeat.unref()
  app.addHook('preClose', async () => {
    clearInterval(heartbeat)
    for (const stream of streams) stream.end()
    streams.clear()
  })

  app.get('/api/analytics/live/', {
    onRequest: app.requireStaff,
    schema: {
      tags: ['analytics'],
      summary: 'Live updates of the dashboard\'s figures (Server-Sent Events)',
      description: 'text/event-stream: `changes` as orders and payment results arrive (batched over ~150 ms), `resync` when changes may have been missed (reload the figures), ' +
        '`reauthenticate` before the access token expires (the stream then ends; reconnect with a fresh token), a comment heartbeat. Staff only.',
      security: [{ bearerAuth: [] }],
      produces: ['text/event-stream'],
      response: {
        200: { description: 'The event stream (never ends on its own before the token expires)', content: { 'text/event-stream': { schema: Type.String() } } },
        ...errorResponses(401, 403)
      }
    }
  }, async (request, reply) => {
    const stream = new PassThrough()
    const send = (event: string, data: unknown): void => {
      if (stream.writableEnded) return
      if (stream.writableLength > MAX_BUFFERED_BYTES) {
        request.log.info('live stream dropped: its client reads nothing')
        end()
        return
      }
      stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    const unsubscribe = app.live.subscribe((message: LiveMessage) => {
      if (message.type === 'changes') send('changes', { changes: message.changes, count: message.count })
      else send('resync', {})
    })
    const exp = (request.user as { exp?: number }).exp
    const lifetime = Math.max(1000, Math.min(MAX_STREAM_MS, exp === undefined ? MAX_STREAM_MS : exp * 1000 - Date.now() - 5000))
    const expiry = setTimeout(() => {
      send('reauthenticate', {})
      end()
    }, lifetime)
    function end (): void {
      unsubscribe()
      clearTimeout(expiry)
      streams.delete(stream)
      if (!stream.writableEnded) stream.end()
    }
    // the client went away (or the response ended): stop writing to it
    reply.raw.on('close', end)
    streams.add(stream)
    stream.write(`retry: ${RETRY_MS}\n\n`)
    send('ready', { listening: app.live.listening() })
    return await reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-store')
      // nginx and similar proxies: do not buffer the stream
      .header('x-accel-buffering', 'no')
      // the schema documents the body as a string; fastify streams it
      .send(stream as unknown as string)
  })
}

export default liveRoutes
