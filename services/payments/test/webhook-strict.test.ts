import t from 'tap'
import { build, callWebhook, findTransaction, insertPending, outboxEvents, webhookCalls } from './helper.js'

// docs/DESIGN.md §2.2: {"transaction_id": "<uuid>", "status": "success" | "failed"}, nothing wider.
// Fastify's default coercion once let `["success"]` through as "success".

interface ErrorJson { statusCode: number, message: string, details?: Array<{ field: string, message: string }> }

t.test('status is exactly "success" or "failed": no arrays, other spellings or types', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness)
  const statuses: unknown[] = [['success'], [['success']], ['failed'], 'Success', 'SUCCESS', ' success', 'success ', 'succes', 'failed\n', '', 'pending', 1, true, null, {}, { status: 'success' }]
  for (const status of statuses) {
    const res = await callWebhook(harness, { transaction_id: tx.transaction_id, status })
    t.equal(res.statusCode, 400, `status ${JSON.stringify(status)} is refused (${res.body})`)
    const body = res.json<ErrorJson>()
    t.ok(body.details?.some((d) => d.field === 'status'), `status ${JSON.stringify(status)}: the details name status`)
    t.notOk(body.details?.some((d) => d.field === 'transaction_id'), 'and not the id, which is fine')
  }
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'pending', 'the transaction did not move')
  t.equal((await outboxEvents(harness)).length, 0, 'no event')
  const calls = await webhookCalls(harness)
  t.equal(calls.length, statuses.length, 'every call is recorded')
  t.ok(calls.every((c) => c.response_status === 400 && c.signature_valid && c.outcome === 'invalid body'), 'as a signed call with an invalid body')

  t.equal((await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' })).statusCode, 200, 'the exact value works')
})

t.test('transaction_id is a UUID string: no arrays, prefixes, braces or other types', async (t) => {
  const harness = await build(t)
  const tx = await insertPending(harness)
  const id = tx.transaction_id
  const ids: unknown[] = [[id], [[id]], `urn:uuid:${id}`, `{${id}}`, ` ${id}`, `${id} `, id.replaceAll('-', ''), `${id}0`, id.slice(0, 35), 'not-a-uuid', '', 1, null, true, { id }]
  for (const transactionId of ids) {
    const res = await callWebhook(harness, { transaction_id: transactionId, status: 'success' })
    t.equal(res.statusCode, 400, `transaction_id ${JSON.stringify(transactionId)} is refused (${res.body})`)
    t.ok(res.json<ErrorJson>().details?.some((d) => d.field === 'transaction_id'), `transaction_id ${JSON.stringify(transactionId)}: the details name it`)
  }
  t.equal((await findTransaction(harness, id))?.status, 'pending')
  t.equal((await outboxEvents(harness)).length, 0)

  const upper = await callWebhook(harness, { transaction_id: id.toUpperCase(), status: 'failed' })
  t.equal(upper.statusCode, 200, `a UUID in capitals is the same UUID (${upper.body})`)
  t.equal((await findTransaction(harness, id))?.status, 'failed')
})
