import t from 'tap'
import { sql } from 'kysely'
import { build, callWebhook, insertPending, webhookCalls } from './helper.js'

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

t.test('the call that settles a transaction is recorded in the same database transaction as the move', async (t) => {
  const h = await build(t)
  const row = await insertPending(h)
  const settled = await callWebhook(h, { transaction_id: row.transaction_id, status: 'success' })
  t.equal(settled.statusCode, 200)
  const repeat = await callWebhook(h, { transaction_id: row.transaction_id, status: 'success' })
  t.equal(repeat.statusCode, 200)
  const calls = (await webhookCalls(h)).filter((c) => c.transaction_id === row.transaction_id)
  t.same(calls.map((c) => [c.outcome, c.response_status]), [['pending → success', 200], ['repeat of the current status', 200]], 'each call once, in order')
  // xmin is the id of the database transaction that wrote the row version: a process killed
  // right after the settlement's commit cannot leave the move without its call
  const moved = await sql<{ xmin: string }>`SELECT xmin::text FROM transactions WHERE transaction_id = ${row.transaction_id}`.execute(h.app.db)
  const recorded = await sql<{ xmin: string }>`SELECT xmin::text FROM webhook_calls WHERE transaction_id = ${row.transaction_id} AND outcome = 'pending → success'`.execute(h.app.db)
  t.equal(recorded.rows[0]?.xmin, moved.rows[0]?.xmin, 'written by the transaction that moved it')
})
