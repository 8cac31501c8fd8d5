import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The webhook signature of docs/DESIGN.md §2.2:
 *   X-Topup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 * Several v1 values may be given (during a secret rotation); one must match.
 */
export function signPayload (secret: string, rawBody: string | Buffer, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')
  return `t=${timestamp},v1=${mac}`
}

export type SignatureCheck = { ok: true } | { ok: false, reason: string }

export function verifySignature (header: string | undefined, secret: string, rawBody: Buffer, toleranceSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): SignatureCheck {
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
  const expected = Buffer.from(createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex'), 'utf8')
  const matches = signatures.some((candidate) => timingSafeEqual(Buffer.from(candidate, 'utf8'), expected))
  return matches ? { ok: true } : { ok: false, reason: 'signature does not match' }
}
