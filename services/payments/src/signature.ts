import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The well-known development secret (refused in production). Here, beside the
 * signing code, rather than in config.ts: `npm run pay` imports this file
 * alone and starts in a tenth of a second, not the second the service's
 * configuration (Fastify, the database driver…) takes to load.
 */
export const DEV_WEBHOOK_SECRET = 'dev-only-webhook-secret-change-me'

/** Which webhook secret verified a call: PAYMENT_WEBHOOK_SECRET or, during a rotation, PAYMENT_WEBHOOK_SECRET_PREVIOUS. */
export type MatchedSecret = 'current' | 'previous'

/**
 * The webhook signature of docs/DESIGN.md §2.2:
 *   X-Topup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 * Several v1 values may be given (during a secret rotation); one must match.
 */
export function signPayload (secret: string, rawBody: string | Buffer, timestamp: number): string {
  return `t=${timestamp},v1=${mac(secret, rawBody, timestamp)}`
}

function mac (secret: string, rawBody: string | Buffer, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')
}

/**
 * The secrets a call may be signed with: PAYMENT_WEBHOOK_SECRET and, during
 * a rotation, PAYMENT_WEBHOOK_SECRET_PREVIOUS.
 */
export interface WebhookSecrets {
  current: string
  previous?: string | undefined
}

/** `secret`: which one verified the call (recorded in webhook_calls.matched_secret). */
export type SignatureCheck = { ok: true, secret: MatchedSecret } | { ok: false, reason: string }

export function verifySignature (header: string | undefined, secrets: WebhookSecrets, rawBody: Buffer, toleranceSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): SignatureCheck {
  if (header === undefined || header === '') return { ok: false, reason: 'missing X-Topup-Signature header' }
  let timestamp: number | undefined
  const signatures: string[] = []
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2)
    if (key === 't' && value !== undefined && /^\d{1,12}$/.test(value)) timestamp = Number(value)
    else if (key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase())
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed X-Topup-Signature header' }
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'signature timestamp outside the tolerance' }
  const matches = (secret: string): boolean => {
    const expected = Buffer.from(mac(secret, rawBody, timestamp), 'utf8')
    // every candidate compared, in constant time each: no early exit tells which one matched
    return signatures.map((candidate) => timingSafeEqual(Buffer.from(candidate, 'utf8'), expected)).includes(true)
  }
  // the current secret first: a provider that sends both (v1 for each) has switched
  if (matches(secrets.current)) return { ok: true, secret: 'current' }
  if (secrets.previous !== undefined && matches(secrets.previous)) return { ok: true, secret: 'previous' }
  return { ok: false, reason: 'signature does not match' }
}
