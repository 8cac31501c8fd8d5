import t from 'tap'
import { build, callWebhook, webhookCalls } from './helper.js'

t.test('the audit keeps every call without letting anyone fill it', async (t) => {
  const h = await build(t)
  const big = JSON.stringify({ transaction_id: 'x'.repeat(3000), status: 'success' })
  const unsigned = await callWebhook(h, big, { signature: null })
  t.equal(unsigned.statusCode, 401)
  const withNul = '{"transaction_id":"a\u0000b","status":"success"}'
  const signedNul = await callWebhook(h, withNul)
  t.equal(signedNul.statusCode, 400, 'a NUL in a signed body is a 400, not a 500')

  const calls = await webhookCalls(h)
  t.equal(calls.length, 2, 'both calls are recorded')
  t.equal(calls[0]?.signature_valid, false)
  t.equal(calls[0]?.body.length, 256, 'an unsigned body is kept only in part')
  t.equal(calls[1]?.signature_valid, true)
  t.match(calls[1]?.body, /a\\u0000b/, 'the NUL is kept visibly, and the call is not lost')
})
