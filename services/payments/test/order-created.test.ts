import t from 'tap'
import { randomUUID } from 'node:crypto'
import { OrderCreatedV2 } from '@topup/contracts'
import { sampleOrderCreatedV2 } from '@topup/contracts/testing'
import { serviceQueueNames } from '@topup/messaging'
import { insertPendingTransaction } from '../src/db/transactions.js'
import { build, findTransaction, orderCreatedEvent, PLAYER_ID, publishOrderCreated, waitFor, type Channel } from './helper.js'

async function countRows (app: Awaited<ReturnType<typeof build>>['app'], table: 'transactions' | 'inbox'): Promise<number> {
  const row = await app.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

type GetMessage = Exclude<Awaited<ReturnType<Channel['get']>>, false>

/** Waits for one message on `queue` and acks it. */
async function getMessage (channel: Channel, queue: string, timeoutMs = 10_000): Promise<GetMessage> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const message = await channel.get(queue, { noAck: true })
    if (message !== false) return message
    if (Date.now() > deadline) throw new Error(`no message on ${queue} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('an OrderCreated event opens a pending transaction', async (t) => {
  const harness = await build(t)
  const { app } = harness
  const event = orderCreatedEvent({ amount: '75.50' })
  await publishOrderCreated(harness, event)

  await waitFor('the pending transaction', async () => (await findTransaction(harness, event.data.transaction_id)) !== undefined)
  const row = await findTransaction(harness, event.data.transaction_id)
  t.match(row, {
    transaction_id: event.data.transaction_id,
    order_id: event.data.order_id,
    user_id: event.data.user_id,
    amount: '75.50',
    currency: 'INR',
    status: 'pending',
    provider: 'sandbox'
  })
  t.equal(row?.created_at.toISOString(), event.data.created_at)
  const inbox = await app.db.selectFrom('inbox').selectAll().execute()
  t.equal(inbox.length, 1)
  t.match(inbox[0], { event_id: event.id, type: 'OrderCreated', routing_key: 'orders.order-created.v1' })
  const outbox = await app.db.selectFrom('outbox').select('id').execute()
  t.equal(outbox.length, 0, 'a new pending transaction announces nothing')
})

t.test('the same event delivered twice makes one transaction and one inbox entry', async (t) => {
  const harness = await build(t)
  const { app } = harness
  const event = orderCreatedEvent()
  await publishOrderCreated(harness, event)
  await publishOrderCreated(harness, event)

  const consumer = app.messaging.consumer
  if (consumer === null) throw new Error('the payments app has no consumer')
  await waitFor('both deliveries', () => consumer.stats.handled + consumer.stats.duplicates === 2)
  t.equal(consumer.stats.handled, 1, 'applied once')
  t.equal(consumer.stats.duplicates, 1, 'the redelivery is skipped')
  t.equal(await countRows(app, 'transactions'), 1)
  t.equal(await countRows(app, 'inbox'), 1)

  // the same order under a new event id (orders republished it) still changes nothing
  const again = { ...orderCreatedEvent(), data: event.data }
  await publishOrderCreated(harness, again)
  await waitFor('the republished order', () => consumer.stats.handled === 2)
  t.equal(await countRows(app, 'transactions'), 1, 'still one transaction for the order')
  t.equal(consumer.stats.deadLettered, 0)
})

t.test('copies of one order racing to open its transaction make one row; a pair of ids that contradicts a recorded one is an error', async (t) => {
  const { app } = await build(t)
  const pending = (orderId: string, transactionId: string) => ({
    transaction_id: transactionId, order_id: orderId, user_id: randomUUID(), amount: '10.00', currency: 'INR', provider: 'sandbox', created_at: new Date()
  })
  // both keys (transaction_id, order_id) are unique: racing inserts must end as one row and no-ops,
  // not as a unique violation on the key the insert did not arbitrate (the window is narrow: many rounds)
  const orders = Array.from({ length: 1000 }, () => pending(randomUUID(), randomUUID()))
  const results = await Promise.allSettled(orders.flatMap((o) => [insertPendingTransaction(app.db, o), insertPendingTransaction(app.db, o)]))
  t.same(results.filter((r) => r.status === 'rejected').map((r) => (r.reason as Error).message), [], 'every insert settled')
  const fulfilled = results.flatMap((r) => r.status === 'fulfilled' ? [r.value] : [])
  t.equal(fulfilled.filter((inserted) => inserted).length, 1000, 'one insert per order opened it')
  t.equal(await countRows(app, 'transactions'), 1000)

  const first = orders[0]
  if (first === undefined) throw new Error('no order')
  t.equal(await insertPendingTransaction(app.db, first), false, 'the same pair again changes nothing')
  await t.rejects(insertPendingTransaction(app.db, pending(randomUUID(), first.transaction_id)), /conflict with another pair/, 'the transaction id under another order')
  await t.rejects(insertPendingTransaction(app.db, pending(first.order_id, randomUUID())), /conflict with another pair/, 'the order under another transaction id')
  t.equal(await countRows(app, 'transactions'), 1000, 'neither was recorded')
})

t.test('poison messages go to the dead-letter queue, logged, and do not block the queue', async (t) => {
  const harness = await build(t)
  const { app, logs, prefix } = harness
  const { deadLetterQueue } = serviceQueueNames(prefix, 'payments')
  t.equal(deadLetterQueue, `${prefix}payments.events.dlq`)
  const channel = await harness.channel()

  // 1. not JSON at all
  await publishOrderCreated(harness, Buffer.from('{"id": not json'), 'poison-bad-json')
  const first = await getMessage(channel, deadLetterQueue)
  t.equal(first.properties.messageId, 'poison-bad-json')
  t.equal(first.content.toString(), '{"id": not json')

  // 2. valid JSON, an OrderCreated without its amount
  const event = orderCreatedEvent()
  const { amount: _amount, ...withoutAmount } = event.data
  await publishOrderCreated(harness, Buffer.from(JSON.stringify({ ...event, data: withoutAmount })), event.id)
  const second = await getMessage(channel, deadLetterQueue)
  t.equal(second.properties.messageId, event.id)
  t.notOk(await findTransaction(harness, event.data.transaction_id), 'the invalid event opened nothing')

  const deadLettered = logs.entries().filter((e) => e.msg === 'invalid message sent to the dead-letter queue')
  t.equal(deadLettered.length, 2, 'each poison message is logged')
  t.match(deadLettered[0], { level: 50, event_id: 'poison-bad-json', routing_key: 'orders.order-created.v1', reason: /^invalid JSON/ })
  t.match(deadLettered[1], { event_id: event.id, reason: 'not a valid OrderCreated v1' })
  const problems = deadLettered[1]?.problems as Array<{ path: string, message: string }>
  t.ok(problems.some((p) => p.path === '/data/amount' || (p.path === '/data' && /amount/.test(p.message))), `the reason names the missing amount: ${JSON.stringify(problems)}`)

  // 3. the queue still flows
  const good = orderCreatedEvent()
  await publishOrderCreated(harness, good)
  await waitFor('the good event', async () => (await findTransaction(harness, good.data.transaction_id)) !== undefined)
  t.equal((await findTransaction(harness, good.data.transaction_id))?.status, 'pending')
  t.equal(await countRows(app, 'transactions'), 1, 'only the good event opened a transaction')
  t.equal(await countRows(app, 'inbox'), 1)
  t.equal(await channel.get(deadLetterQueue, { noAck: true }), false, 'nothing else was dead-lettered')
  t.equal(app.messaging.consumer?.stats.deadLettered, 2)
})

t.test('OrderCreated v2 (in_game_currency as text) opens its transaction too, once, with the order\'s correlation id', async (t) => {
  const harness = await build(t)
  const { app } = harness
  const event = sampleOrderCreatedV2({ user_id: PLAYER_ID, amount: '380.00' })
  const publish = async (): Promise<void> => {
    await app.messaging.connection.publish(OrderCreatedV2.routingKey, Buffer.from(JSON.stringify(event)), { messageId: event.id, type: event.type, correlationId: event.correlation_id })
  }
  await publish()
  await publish()
  await waitFor('the transaction', async () => await findTransaction(harness, event.data.transaction_id) !== undefined)
  t.match(await findTransaction(harness, event.data.transaction_id), { order_id: event.data.order_id, amount: '380.00', status: 'pending', correlation_id: event.correlation_id })
  await waitFor('the redelivery to be skipped', async () => await countRows(app, 'inbox') === 1 && (app.messaging.consumer?.stats.duplicates ?? 0) >= 1)
  t.equal(await countRows(app, 'transactions'), 1, 'the redelivery changed nothing')
})
