import t from 'tap'
import { build, callWebhook, findTransaction, insertPending, outboxEvents, WEBHOOK_SECRET, webhookCalls } from './helper.js'

/** The secret being rotated out (the one the provider signed with until now). */
const PREVIOUS = 'the-previous-webhook-secret-fedcba9876'

t.test('during a rotation a call signed with the current or the previous secret is accepted, and the audit says which', async (t) => {
  const harness = await build(t, { PAYMENT_WEBHOOK_SECRET_PREVIOUS: PREVIOUS })
  const [a, b, c] = await Promise.all([insertPending(harness), insertPending(harness), insertPending(harness)])

  const current = await callWebhook(harness, { transaction_id: a.transaction_id, status: 'success' }, { headers: { 'x-request-id': 'signed-current' } })
  t.equal(current.statusCode, 200, current.body)
  t.same(current.json(), { transaction_id: a.transaction_id, status: 'success', changed: true })
  const previous = await callWebhook(harness, { transaction_id: b.transaction_id, status: 'failed' }, { secret: PREVIOUS, headers: { 'x-request-id': 'signed-previous' } })
  t.equal(previous.statusCode, 200, previous.body)
  t.same(previous.json(), { transaction_id: b.transaction_id, status: 'failed', changed: true })
  const neither = await callWebhook(harness, { transaction_id: c.transaction_id, status: 'success' }, { secret: 'some-third-secret-nobody-has', headers: { 'x-request-id': 'signed-neither' } })
  t.equal(neither.statusCode, 401, neither.body)
  t.equal(neither.json().message, 'Invalid or missing webhook signature.')
  const repeat = await callWebhook(harness, { transaction_id: b.transaction_id, status: 'failed' }, { secret: PREVIOUS, headers: { 'x-request-id': 'previous-again' } })
  t.equal(repeat.statusCode, 200, 'a repeat signed with the previous secret: 200, nothing changes')

  t.equal((await findTransaction(harness, a.transaction_id))?.status, 'success')
  t.equal((await findTransaction(harness, b.transaction_id))?.status, 'failed')
  t.equal((await findTransaction(harness, c.transaction_id))?.status, 'pending')
  t.equal((await outboxEvents(harness)).length, 2)
  const calls = await webhookCalls(harness)
  t.match(calls.find((x) => x.request_id === 'signed-current'), { signature_valid: true, matched_secret: 'current', outcome: 'pending → success' }, 'recorded with the settlement')
  t.match(calls.find((x) => x.request_id === 'signed-previous'), { signature_valid: true, matched_secret: 'previous', outcome: 'pending → failed' })
  t.match(calls.find((x) => x.request_id === 'previous-again'), { signature_valid: true, matched_secret: 'previous', response_status: 200, outcome: 'repeat of the current status' }, 'recorded on answer')
  t.match(calls.find((x) => x.request_id === 'signed-neither'), { signature_valid: false, matched_secret: null, response_status: 401, outcome: 'signature does not match' })
})

t.test('once the previous secret is removed (the app rebuilt without it) only the current one is accepted', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness)
  const old = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' }, { secret: PREVIOUS })
  t.equal(old.statusCode, 401, old.body)
  const neither = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' }, { secret: 'some-third-secret-nobody-has' })
  t.equal(neither.statusCode, 401, neither.body)
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'pending', 'nothing moved')
  t.equal((await outboxEvents(harness)).length, 0)
  const current = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' }, { secret: WEBHOOK_SECRET })
  t.equal(current.statusCode, 200, current.body)
  t.match(await webhookCalls(harness), [
    { signature_valid: false, matched_secret: null, response_status: 401 },
    { signature_valid: false, matched_secret: null, response_status: 401 },
    { signature_valid: true, matched_secret: 'current', response_status: 200 }
  ])
})

t.test('a signed call refused later on (malformed JSON, invalid body) still records the secret that verified it', async (t) => {
  const harness = await build(t, { PAYMENT_WEBHOOK_SECRET_PREVIOUS: PREVIOUS })
  t.equal((await callWebhook(harness, '{"transaction_id":', { secret: PREVIOUS })).statusCode, 400)
  t.equal((await callWebhook(harness, { transaction_id: 'not-a-uuid', status: 'success' }, { secret: PREVIOUS })).statusCode, 400)
  t.match(await webhookCalls(harness), [
    { signature_valid: true, matched_secret: 'previous', outcome: 'malformed JSON', response_status: 400 },
    { signature_valid: true, matched_secret: 'previous', outcome: 'invalid body', response_status: 400 }
  ])
})
