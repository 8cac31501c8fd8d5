import t from 'tap'
import { PaymentStatusChanged, validateEvent } from '@topup/contracts'
import { topologyNames } from '@topup/messaging'
import { build, callWebhook, insertPending, outboxEvents, waitFor, type Channel } from './helper.js'

type GetMessage = Exclude<Awaited<ReturnType<Channel['get']>>, false>

t.test('the relay publishes the PaymentStatusChanged of a settlement', async (t) => {
  const harness = await build(t)
  const { app, prefix } = harness
  const channel = await harness.channel()
  const queue = `${prefix}test.payment-status-changed`
  harness.testQueues.add(queue)
  await channel.assertQueue(queue, { durable: false })
  await channel.bindQueue(queue, topologyNames(prefix).exchange, PaymentStatusChanged.routingKey)

  const tx = await insertPending(harness, { amount: '1299.00', currency: 'INR' })
  const res = await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' }, { headers: { 'x-request-id': 'relay-test-1' } })
  t.equal(res.statusCode, 200, res.body)
  const [row] = await outboxEvents(harness)
  if (row === undefined) throw new Error('no outbox row')

  let message: GetMessage | undefined
  await waitFor('the published event', async () => {
    const got = await channel.get(queue, { noAck: true })
    if (got !== false) message = got
    return message !== undefined
  })
  if (message === undefined) throw new Error('unreachable')
  t.equal(message.fields.routingKey, 'payments.payment-status-changed.v1')
  t.equal(message.properties.messageId, row.event_id, 'messageId = event id')
  t.equal(message.properties.type, 'PaymentStatusChanged')
  t.equal(message.properties.contentType, 'application/json')
  t.equal(message.properties.correlationId, 'relay-test-1')
  t.equal(message.properties.deliveryMode, 2, 'persistent')

  const body: unknown = JSON.parse(message.content.toString('utf8'))
  const result = validateEvent(PaymentStatusChanged, body, { strict: true })
  t.ok(result.ok, `the body satisfies the contract: ${JSON.stringify(result.ok ? [] : result.problems)}`)
  if (!result.ok) return
  const event = result.event
  t.equal(event.id, row.event_id)
  t.equal(event.correlation_id, 'relay-test-1')
  t.match(event.data, {
    transaction_id: tx.transaction_id,
    order_id: tx.order_id,
    status: 'success',
    previous_status: 'pending',
    amount: '1299.00',
    currency: 'INR',
    provider: 'sandbox'
  })

  await waitFor('the row marked sent', async () => {
    const sent = await app.db.selectFrom('outbox').select('sent_at').where('event_id', '=', row.event_id).executeTakeFirst()
    return sent?.sent_at !== null && sent?.sent_at !== undefined
  })
  // a repeat of the status publishes nothing more
  t.equal((await callWebhook(harness, { transaction_id: tx.transaction_id, status: 'success' })).statusCode, 200)
  t.equal((await outboxEvents(harness)).length, 1)
  t.equal(app.messaging.relay?.stats.published, 1)
  t.equal(await channel.get(queue, { noAck: true }), false, 'exactly one message')
})
