import type { FastifyRequest } from 'fastify'
import { HttpError } from '@topup/service-kit'

/** A `.` or `..` path segment, written plainly or percent-encoded (`%2E`, `.%2e`, …). */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i

/**
 * onRequest hook: a path with a dot segment is refused. The gateway routes the
 * literal text (`/api/orders/%2E`) while the proxy resolves it for the upstream
 * (`/api/orders/`), so the gateway and the service would see different paths.
 */
export async function refuseDotSegments (request: FastifyRequest): Promise<void> {
  const path = request.url.split('?', 1)[0] ?? ''
  if (DOT_SEGMENT.test(path)) {
    throw new HttpError(400, 'The request path may not contain "." or ".." segments, plain or percent-encoded.')
  }
}
