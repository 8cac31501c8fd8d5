import type { onSendHookHandler } from 'fastify'

/**
 * An onSend hook for responses that carry tokens or personal data (the token
 * routes, the profile): no browser or proxy cache may keep them (RFC 6749
 * §5.1 asks it of token responses; RFC 9111 `no-store`), and `Pragma:
 * no-cache` for HTTP/1.0 caches. onSend, so error answers (401, 429, 400)
 * carry it too.
 */
export const noStore: onSendHookHandler = (_request, reply, payload, done) => {
  reply.header('cache-control', 'no-store')
  reply.header('pragma', 'no-cache')
  done(null, payload)
}
