import t from 'tap'
import { build, callWebhook, findTransaction, insertPending, outboxEvents, webhookCalls } from './helper.js'

t.test('20 concurrent success calls for one transaction make exactly one transition', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness)
  const body = { transaction_id: tx.transaction_id, status: 'success' }
  const results = await Promise.all(Array.from({ length: 20 }, async () => await callWebhook(harness, body)))

  t.same(results.map((r) => r.statusCode), Array(20).fill(200), 'every call is a 200')
  const changed = results.filter((r) => r.json().changed === true)
  t.equal(changed.length, 1, 'exactly one call made the change')
  for (const r of results) t.match(r.json(), { transaction_id: tx.transaction_id, status: 'success' })
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'success')

  const events = await outboxEvents(harness)
  t.equal(events.length, 1, 'exactly one PaymentStatusChanged')
  t.match(events[0]?.payload, { type: 'PaymentStatusChanged', data: { transaction_id: tx.transaction_id, status: 'success', previous_status: 'pending' } })

  const calls = await webhookCalls(harness)
  t.equal(calls.length, 20, 'every call is recorded')
  t.equal(calls.filter((c) => c.outcome === 'pending → success').length, 1)
  t.equal(calls.filter((c) => c.outcome === 'repeat of the current status').length, 19)
  t.ok(calls.every((c) => c.signature_valid && c.response_status === 200))
})

t.test('10 concurrent success and 10 concurrent failed: one wins, the others are 200 or 409', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness)
  const statuses = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'success' : 'failed'))
  const results = await Promise.all(statuses.map(async (status) => ({ status, res: await callWebhook(harness, { transaction_id: tx.transaction_id, status }) })))

  const row = await findTransaction(harness, tx.transaction_id)
  const winner = row?.status
  t.ok(winner === 'success' || winner === 'failed', `settled: ${String(winner)}`)
  const changed = results.filter(({ res }) => res.statusCode === 200 && res.json().changed === true)
  t.equal(changed.length, 1, 'exactly one transition')
  t.equal(changed[0]?.status, winner, 'the transition that happened is the one that was reported')
  for (const { status, res } of results) {
    if (status === winner) {
      t.equal(res.statusCode, 200, `${status}: same as the winner`)
    } else {
      t.equal(res.statusCode, 409, `${status}: the other terminal status`)
      t.equal(res.json().message, `Transaction is already ${String(winner)}.`)
    }
  }

  const events = await outboxEvents(harness)
  t.equal(events.length, 1, 'exactly one PaymentStatusChanged')
  t.match(events[0]?.payload.data, { status: winner, previous_status: 'pending' })

  const calls = await webhookCalls(harness)
  t.equal(calls.length, 20, 'every call is recorded')
  t.equal(calls.filter((c) => c.response_status === 409).length, 10)
  t.equal(calls.filter((c) => c.outcome.startsWith('pending → ')).length, 1)
})
