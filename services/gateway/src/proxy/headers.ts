import type { IncomingHttpHeaders } from 'node:http'
import type { IncomingHttpHeaders as Http2IncomingHttpHeaders } from 'node:http2'
import type { FastifyRequest, RawServerBase, RequestGenericInterface } from 'fastify'

type AnyHeaders = IncomingHttpHeaders | Http2IncomingHttpHeaders

/**
 * What the upstream gets besides the client's own headers (Authorization
 * included, untouched): this request's id, and who the client was.
 *
 * `Expect` stays here: Node has already answered `100 Continue` to the client
 * (the gateway reads the whole body before it forwards anything), and undici
 * refuses to send the header at all ("expect header not supported"), which
 * turned every such request into a 502.
 */
export function rewriteRequestHeaders (request: FastifyRequest<RequestGenericInterface, RawServerBase>, headers: AnyHeaders): AnyHeaders {
  const { expect: _expect, ...rest } = headers as IncomingHttpHeaders
  return {
    ...rest,
    'x-request-id': request.id,
    // only the client address the gateway determined itself (its own TRUST_PROXY
    // decides whether a forwarded header in front of it is believed): a client
    // cannot slip a made-up address to the services behind it
    'x-forwarded-for': request.ip,
    'x-forwarded-proto': request.protocol,
    'x-forwarded-host': request.host
  }
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe the gateway's own connection
 * to the upstream and are not the client's business. reply-from copied them,
 * so an upstream's `Connection: keep-alive` overrode a client's
 * `Connection: close` or HTTP/1.0; without them Node decides the client
 * connection's fate from the client's own request.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']

export function rewriteResponseHeaders (headers: AnyHeaders): AnyHeaders {
  const listed = String(headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '')
  const out: Record<string, unknown> = { ...headers }
  for (const name of [...HOP_BY_HOP, ...listed]) delete out[name]
  return out as AnyHeaders
}
