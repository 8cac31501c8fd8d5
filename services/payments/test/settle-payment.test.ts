import t from 'tap'
import { outcomeOf, settlePayment, type SettlePayment } from '../src/payments/settle-payment.js'
import { build, findTransaction, insertPending, outboxEvents, webhookCalls } from './helper.js'

// The use case on its own, without HTTP or signatures: what the webhook route calls.

const call = { requestId: 'req-1', remoteAddress: '192.0.2.7', body: '{"transaction_id":"…","status":"success"}' }
const payment = (transactionId: string, over: Partial<SettlePayment> = {}): SettlePayment =>
  ({ transactionId, status: 'success', provider: 'sandbox', at: new Date('2026-11-30T10:00:00.000Z'), call, ...over })

t.test('settlePayment moves a pending transaction once, with its event and its call', async (t) => {
  const h = await build(t)
  const row = await insertPending(h)
  const settled = await settlePayment(h.app.db, payment(row.transaction_id))
  t.equal(settled.kind, 'settled')
  t.equal(outcomeOf(settled, 'success'), 'pending → success')
  t.match(await findTransaction(h, row.transaction_id), { status: 'success' })
  const events = await outboxEvents(h)
  t.equal(events.length, 1)
  t.match(events[0], { type: 'PaymentStatusChanged', correlation_id: 'req-1', payload: { data: { transaction_id: row.transaction_id, status: 'success', previous_status: 'pending', provider: 'sandbox' } } })
  t.match(await webhookCalls(h), [{ request_id: 'req-1', remote_address: '192.0.2.7', signature_valid: true, transaction_id: row.transaction_id, requested_status: 'success', response_status: 200, outcome: 'pending → success' }])

  const again = await settlePayment(h.app.db, payment(row.transaction_id, { call: { ...call, requestId: 'req-2' } }))
  t.equal(again.kind, 'unchanged')
  t.equal(outcomeOf(again, 'success'), 'repeat of the current status')
  const other = await settlePayment(h.app.db, payment(row.transaction_id, { status: 'failed' }))
  t.equal(other.kind, 'conflict')
  t.equal(outcomeOf(other, 'failed'), 'already success')
  const unknown = await settlePayment(h.app.db, payment('00000000-0000-4000-8000-000000000000'))
  t.equal(unknown.kind, 'missing')
  t.equal(outcomeOf(unknown, 'success'), 'unknown transaction')
  t.equal((await outboxEvents(h)).length, 1, 'no further event')
  t.equal((await webhookCalls(h)).length, 1, 'only the move is recorded here; the route records the other calls after answering')
})
