/**
 * The sandbox payment gateway: signs and sends the webhook for a transaction,
 * as a real provider would.
 *   npm run pay -- <transaction_id> success|failed
 * Env: GATEWAY_URL (default http://127.0.0.1:8080), PAYMENT_WEBHOOK_SECRET (the
 * current secret; PAYMENT_WEBHOOK_SECRET_PREVIOUS, accepted by payments during a
 * rotation, is never used to sign).
 */
import { DEV_WEBHOOK_SECRET, signPayload } from '../signature.js'

export async function pay (options: { baseUrl: string, secret: string, transactionId: string, status: 'success' | 'failed' }): Promise<{ status: number, body: string }> {
  const body = JSON.stringify({ transaction_id: options.transactionId, status: options.status })
  const signature = signPayload(options.secret, body, Math.floor(Date.now() / 1000))
  const response = await fetch(new URL('/api/payment/webhook/', options.baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-topup-signature': signature },
    body
  })
  return { status: response.status, body: await response.text() }
}

async function main (): Promise<void> {
  const [transactionId, status] = process.argv.slice(2)
  if (transactionId === undefined || (status !== 'success' && status !== 'failed')) {
    process.stderr.write('usage: npm run pay -- <transaction_id> success|failed\n')
    process.exit(2)
  }
  const baseUrl = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080'
  const secret = process.env.PAYMENT_WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET
  try {
    const result = await pay({ baseUrl, secret, transactionId, status })
    process.stdout.write(`${result.status} ${result.body}\n`)
    if (result.status === 401) {
      process.stderr.write(`the signature was refused: PAYMENT_WEBHOOK_SECRET here (${process.env.PAYMENT_WEBHOOK_SECRET === undefined ? 'unset, so the development secret' : 'set'}) must be the secret the payments service runs with (its PAYMENT_WEBHOOK_SECRET, or during a rotation its PAYMENT_WEBHOOK_SECRET_PREVIOUS), and this machine's clock within 300 s of the server's\n`)
    }
    process.exit(result.status === 200 ? 0 : 1)
  } catch (err) {
    process.stderr.write(`could not reach ${baseUrl}: ${(err as Error).message}\n`)
    process.exit(1)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main()
