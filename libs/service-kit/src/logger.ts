import type { LoggerOptions } from 'pino'

/**
 * Paths whose values never reach a log line: credentials in headers, passwords
 * and tokens wherever an object carrying them is logged.
 */
export const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-topup-signature"]',
  'headers.authorization',
  'password', 'refresh', 'access', 'token', 'secret',
  '*.password', '*.refresh', '*.access', '*.token', '*.secret',
  '*.*.password', '*.*.refresh', '*.*.access', '*.*.token'
]

/** Query parameters whose values never reach a log line (a client may put a credential in a URL). */
const SECRET_PARAMETER = /token|password|passwd|secret|key|auth|signature|sig|code|session|cookie|credential/i

/**
 * The URL as it may be logged: the path, and the query with the values of
 * credential-like parameters replaced. `GET /api/orders/?access_token=…` and
 * `POST /api/token/?password=…` were logged whole by the gateway and the
 * service behind it.
 */
export function loggableUrl (url: string): string {
  const mark = url.indexOf('?')
  if (mark < 0) return url
  const query = url.slice(mark + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=')
    const name = eq < 0 ? pair : pair.slice(0, eq)
    let decoded = name
    try { decoded = decodeURIComponent(name) } catch { /* a malformed name is still only a name */ }
    return eq >= 0 && SECRET_PARAMETER.test(decoded) ? `${name}=[REDACTED]` : pair
  })
  return `${url.slice(0, mark)}?${query.join('&')}`
}

interface LoggedRequest { method: string, url: string, host?: string, ip?: string, socket?: { remotePort?: number } }

export function loggerOptions (service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    redact: { paths: redactedPaths, censor: '[REDACTED]' },
    serializers: {
      // Fastify's own request serializer, with the URL made safe to log
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: typeof req.url === 'string' ? loggableUrl(req.url) : req.url,
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort
      })
    }
  }
}
