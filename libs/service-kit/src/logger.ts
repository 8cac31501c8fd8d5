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

export function loggerOptions (service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    redact: { paths: redactedPaths, censor: '[REDACTED]' }
  }
}
