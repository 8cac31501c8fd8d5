import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { PaymentStatusChanged, validateEvent } from '@topup/contracts'
import { signPayload } from '../src/signature.js'
import { build, callWebhook, findTransaction, insertPending, outboxEvents, PLAYER_ID, WEBHOOK_SECRET, webhookCalls, type Harness } from './helper.js'

/** The transaction and the outbox are exactly as they were. */
async function assertUnchanged (t: Test, harness: Harness, transactionId: string, status: string, outboxCount: number, what: string): Promise<void> {
  t.equal((await findTransaction(harness, transactionId))?.status, status, `${what}: the transaction is still ${status}`)
  t.equal((await outboxEvents(harness)).length, outboxCount, `${what}: no event recorded`)
}

t.test('a transaction opened by an order keeps that order\'s trace: its PaymentStatusChanged and the webhook\'s log lines carry the top-up request\'s id', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness, { correlation_id: 'topup-req-7' })
  const res = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' }, { headers: { 'x-request-id': 'provider-call-9' } })
  t.equal(res.statusCode, 200, res.body)
  const [event] = await outboxEvents(harness)
  t.equal(event?.correlation_id, 'topup-req-7', 'the order\'s trace, not the webhook call\'s id')
  t.equal(event?.payload.correlation_id, 'topup-req-7')
  const lines = harness.logs.entries().filter((e) => e.reqId === 'provider-call-9')
  t.ok(lines.some((e) => e.msg === 'request completed' && e.correlation_id === 'topup-req-7'), 'the request line carries it')
  t.ok(lines.some((e) => e.msg === 'payment settled' && e.correlation_id === 'topup-req-7'), 'and so does the settlement line')
  const metrics = await harness.app.inject({ method: 'GET', url: '/metrics' })
  t.match(metrics.body, /payments_settled_total\{status="success",reason="webhook",service="payments"\} 1/, 'counted as settled by its webhook')
})

t.test('a correctly signed success settles the transaction and records one PaymentStatusChanged', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness, { amount: '699.00', currency: 'INR' })
  const before = Date.now()
  const res = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' }, { headers: { 'x-request-id': 'gateway-req-1' } })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { transaction_id: tx.transaction_id, status: 'success', changed: true })

  const row = await findTransaction(harness, tx.transaction_id)
  t.equal(row?.status, 'success')
  t.ok((row?.updated_at.getTime() ?? 0) >= before - 1000, 'updated_at moved')
  const events = await outboxEvents(harness)
  t.equal(events.length, 1, 'exactly one event')
  const event = events[0]
  t.equal(event?.routing_key, 'payments.payment-status-changed.v1')
  t.equal(event?.correlation_id, 'gateway-req-1', 'the request id is the correlation id')
  t.equal(event?.event_id, event?.payload.id)
  t.match(event?.payload, { type: 'PaymentStatusChanged', version: 1, correlation_id: 'gateway-req-1' })
  t.same(event?.payload.data, {
    transaction_id: tx.transaction_id,
    order_id: tx.order_id,
    status: 'success',
    previous_status: 'pending',
    amount: '699.00',
    currency: 'INR',
    provider: 'sandbox',
    changed_at: row?.updated_at.toISOString()
  })
  t.ok(validateEvent(PaymentStatusChanged, event?.payload, { strict: true }).ok, 'the event satisfies its contract')

  const calls = await webhookCalls(harness)
  t.equal(calls.length, 1)
  t.match(calls[0], {
    request_id: 'gateway-req-1',
    signature_valid: true,
    transaction_id: tx.transaction_id,
    requested_status: 'success',
    response_status: 200,
    outcome: 'pending → success',
    body: JSON.stringify({ transaction_id: tx.transaction_id, status: 'success' })
  })
})

t.test('a failed payment settles too; the path without the trailing slash works', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness, { amount: '75.00' })
  const body = JSON.stringify({ transaction_id: tx.transaction_id, status: 'failed' })
  const res = await harness.app.inject({
    method: 'POST',
    url: '/api/payment/webhook',
    headers: { 'content-type': 'application/json', 'x-topup-signature': signPayload(WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000)) },
    payload: body
  })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { transaction_id: tx.transaction_id, status: 'failed', changed: true })
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'failed')
  const events = await outboxEvents(harness)
  t.equal(events.length, 1)
  t.match(events[0]?.payload.data, { status: 'failed', previous_status: 'pending', amount: '75.00' })
  t.match(await webhookCalls(harness), [{ signature_valid: true, response_status: 200, outcome: 'pending → failed' }])
})

t.test('the same status again is a 200 that changes nothing; the other terminal status is a 409', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness)
  t.equal((await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' })).statusCode, 200)
  const settled = await findTransaction(harness, tx.transaction_id)

  const again = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' })
  t.equal(again.statusCode, 200, again.body)
  t.same(again.json(), { transaction_id: tx.transaction_id, status: 'success', changed: false })
  t.equal((await outboxEvents(harness)).length, 1, 'no new event')
  t.same((await findTransaction(harness, tx.transaction_id))?.updated_at, settled?.updated_at, 'updated_at untouched')

  const other = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'failed' })
  t.equal(other.statusCode, 409, other.body)
  t.match(other.json(), { statusCode: 409, error: 'Conflict', message: 'Transaction is already success.' })
  await assertUnchanged(t, harness, tx.transaction_id, 'success', 1, 'after the 409')
  t.same((await findTransaction(harness, tx.transaction_id))?.updated_at, settled?.updated_at)

  // and the other way round: a failed payment never becomes a success
  const failed = await insertPending(harness)
  t.equal((await callWebhook(harness, { transaction_id: failed.transaction_id, status: 'failed' })).statusCode, 200)
  const late = await callWebhook(harness, { transaction_id: failed.transaction_id, status: 'success' })
  t.equal(late.statusCode, 409)
  t.equal(late.json().message, 'Transaction is already failed.')
  await assertUnchanged(t, harness, failed.transaction_id, 'failed', 2, 'success after failed')

  t.match(await webhookCalls(harness), [
    { signature_valid: true, response_status: 200, outcome: 'pending → success', requested_status: 'success' },
    { signature_valid: true, response_status: 200, outcome: 'repeat of the current status', requested_status: 'success' },
    { signature_valid: true, response_status: 409, outcome: 'already success', requested_status: 'failed', transaction_id: tx.transaction_id },
    { signature_valid: true, response_status: 200, outcome: 'pending → failed' },
    { signature_valid: true, response_status: 409, outcome: 'already failed', transaction_id: failed.transaction_id }
  ])
})

t.test('an unknown transaction is a 404 (the gateway retries)', async (t) => {
  const harness = await build(t)
  const unknown = randomUUID()
  const res = await callWebhook(harness, { transaction_id: unknown, status: 'success' })
  t.equal(res.statusCode, 404, res.body)
  t.match(res.json(), { statusCode: 404, error: 'Not Found', message: 'Unknown transaction.' })
  t.equal((await outboxEvents(harness)).length, 0)
  t.match(await webhookCalls(harness), [{ signature_valid: true, transaction_id: unknown, requested_status: 'success', response_status: 404, outcome: 'unknown transaction' }])
})

t.test('every bad signature is a 401 that changes nothing, and is recorded', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness)
  const body = JSON.stringify({ transaction_id: tx.transaction_id, status: 'success' })
  const now = Math.floor(Date.now() / 1000)
  // timestamps relative to the moment of the call (a second may tick during the test)
  const ago = (seconds: number): number => Math.floor(Date.now() / 1000) - seconds
  const player = `Bearer ${harness.issuer.token({ sub: PLAYER_ID })}`
  const cases: Array<[string, Parameters<typeof callWebhook>[2], RegExp | string]> = [
    ['no signature', { signature: null }, 'missing X-Topup-Signature header'],
    ['empty signature', { signature: '' }, 'missing X-Topup-Signature header'],
    ['forged with another secret', { secret: 'someone-elses-secret-0123456789' }, 'signature does not match'],
    ['stale timestamp (301 s old)', { get timestamp () { return ago(301) } }, 'signature timestamp outside the tolerance'],
    ['very old timestamp', { get timestamp () { return ago(86_400) } }, 'signature timestamp outside the tolerance'],
    ['future timestamp (310 s ahead)', { get timestamp () { return ago(-310) } }, 'signature timestamp outside the tolerance'],
    ['body swapped after signing', { signedBody: JSON.stringify({ transaction_id: tx.transaction_id, status: 'failed' }) }, 'signature does not match'],
    ['body re-encoded after signing', { signedBody: JSON.stringify({ status: 'success', transaction_id: tx.transaction_id }) }, 'signature does not match'],
    ['malformed header', { signature: 'garbage' }, 'malformed X-Topup-Signature header'],
    ['no v1', { signature: `t=${now}` }, 'malformed X-Topup-Signature header'],
    ['no t', { signature: signPayload(WEBHOOK_SECRET, body, now).replace(/^t=\d+,/, '') }, 'malformed X-Topup-Signature header'],
    ['short v1', { signature: `t=${now},v1=abc123` }, 'malformed X-Topup-Signature header'],
    ['timestamp swapped', { signature: signPayload(WEBHOOK_SECRET, body, now).replace(/^t=\d+/, `t=${now - 1}`) }, 'signature does not match'],
    ['a player token instead of a signature', { signature: null, headers: { authorization: player } }, 'missing X-Topup-Signature header'],
    ['a player token as the signature', { signature: player }, 'malformed X-Topup-Signature header']
  ]
  for (const [name, call] of cases) {
    const res = await callWebhook(harness, body, call)
    t.equal(res.statusCode, 401, `${name}: ${res.body}`)
    t.same(res.json(), { statusCode: 401, error: 'Unauthorized', message: 'Invalid or missing webhook signature.' }, name)
    await assertUnchanged(t, harness, tx.transaction_id, 'pending', 0, name)
  }
  // a bad signature over a body that would otherwise be a 400 is still a 401
  const unsignedGarbage = await callWebhook(harness, '{not json', { signature: null })
  t.equal(unsignedGarbage.statusCode, 401)
  const forgedInvalid = await callWebhook(harness, { transaction_id: 'nope', status: 'maybe' }, { secret: 'someone-elses-secret-0123456789' })
  t.equal(forgedInvalid.statusCode, 401)

  const calls = await webhookCalls(harness)
  t.equal(calls.length, cases.length + 2, 'every call is recorded')
  cases.forEach(([name, , outcome], i) => {
    t.match(calls[i], { signature_valid: false, response_status: 401, outcome, transaction_id: null, requested_status: null, body }, name)
  })
  t.match(calls.slice(-2), [
    { signature_valid: false, response_status: 401, outcome: 'missing X-Topup-Signature header', body: '{not json' },
    { signature_valid: false, response_status: 401, outcome: 'signature does not match' }
  ])
  t.notOk(calls.some((c) => c.body.includes('Bearer')), 'the Authorization header is not stored')
  t.notOk(harness.logs.text.includes(player.slice(7)), 'the player token is not logged')

  // the genuine call still works afterwards
  const ok = await callWebhook(harness, body)
  t.equal(ok.statusCode, 200)
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'success')
})

t.test('a signed but invalid body is a 400 naming the field; malformed JSON is a 400', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness)

  const badStatus = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'refunded' })
  t.equal(badStatus.statusCode, 400, badStatus.body)
  t.match(badStatus.json(), { statusCode: 400, error: 'Bad Request', message: /status/ })
  t.ok((badStatus.json().details as Array<{ field: string }>).some((d) => d.field === 'status'), 'details name status')
  t.notOk((badStatus.json().details as Array<{ field: string }>).some((d) => d.field === 'transaction_id'), 'the id is fine')

  const badId = await callWebhook(harness, { transaction_id: 'not-a-uuid', status: 'success' })
  t.equal(badId.statusCode, 400, badId.body)
  t.match(badId.json(), { message: /transaction_id/ })
  t.same(badId.json().details, [{ field: 'transaction_id', message: 'must be a UUID such as 9b2f3c1e-6a4d-4c8e-9f1a-2b3c4d5e6f70' }])

  const missing = await callWebhook(harness, { status: 'success' })
  t.equal(missing.statusCode, 400)
  t.same(missing.json().details, [{ field: 'transaction_id', message: 'is required' }])

  const extra = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success', amount: '1.00' })
  t.equal(extra.statusCode, 400)
  t.same(extra.json().details, [{ field: 'amount', message: 'is not an allowed field' }])

  const malformed = await callWebhook(harness, '{"transaction_id": "' + tx.transaction_id + '", status: success')
  t.equal(malformed.statusCode, 400, malformed.body)
  t.same(malformed.json(), { statusCode: 400, error: 'Bad Request', message: 'Malformed JSON body.' })

  const notAnObject = await callWebhook(harness, '"success"')
  t.equal(notAnObject.statusCode, 400, notAnObject.body)

  await assertUnchanged(t, harness, tx.transaction_id, 'pending', 0, 'after the 400s')
  const calls = await webhookCalls(harness)
  t.equal(calls.length, 6, 'every call is recorded')
  for (const call of calls) t.match(call, { signature_valid: true, response_status: 400 })
  t.equal(calls[4]?.outcome, 'malformed JSON', 'a malformed body is recorded as such')
  t.equal(calls[4]?.body, '{"transaction_id": "' + tx.transaction_id + '", status: success')
  t.match(calls[0], { outcome: 'invalid body' })
})
