import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import type { Channel, GetMessage } from 'amqplib'
import { makeEvent, OrderCreated, PaymentStatusChanged, type EventOf } from '@topup/contracts'
import type { Kysely } from 'kysely'
import { serviceQueueNames, type InboxDatabase } from '@topup/messaging'
import { startSystem, type System, type TopupBody } from './harness.js'

type PaymentEvent = EventOf<typeof PaymentStatusChanged>

t.test('duplicates, late results and poison, as the services see them on the broker', async (t) => {
  const system = await startSystem(t)
  const orders = system.orders[0]
  const payments = system.payments[0]
  if (orders === undefined || payments === undefined) throw new Error('one instance of each')
  const player = await system.register(`events_${randomBytes(4).toString('hex')}`)
  const { access } = await system.login(player.username)
  const channel = await system.broker.createChannel()
  channel.on('error', () => {})
  t.teardown(async () => { await channel.close().catch(() => {}) })
  const ordersConsumer = orders.app.messaging.consumer
  if (ordersConsumer === null) throw new Error('orders consumes PaymentStatusChanged')

  async function newOrder (): Promise<TopupBody> {
    const placed = await system.topup(access)
    if (placed.status !== 201) throw new Error(`topup: ${placed.status} ${placed.text}`)
    return placed.body
  }

  function paymentEvent (order: TopupBody, status: 'success' | 'failed', changedAt: Date): PaymentEvent {
    return makeEvent(PaymentStatusChanged, {
      transaction_id: order.transaction_id,
      order_id: order.order_id,
      status,
      previous_status: 'pending',
      amount: '699.00',
      currency: 'INR',
      provider: 'sandbox',
      changed_at: changedAt.toISOString()
    }, { correlationId: `system-test-${randomBytes(4).toString('hex')}`, occurredAt: changedAt })
  }

  async function publish (routingKey: string, content: string | object, messageId: string, type: string): Promise<void> {
    const body = typeof content === 'string' ? content : JSON.stringify(content)
    await system.broker.publish(routingKey, Buffer.from(body), { messageId, type })
  }
  const publishPayment = async (event: PaymentEvent): Promise<void> => { await publish(PaymentStatusChanged.routingKey, event, event.id, event.type) }

  const ordersDb = orders.db
  async function orderRow (id: string): Promise<{ status: string, updated_at: Date }> {
    return await ordersDb.selectFrom('orders').select(['status', 'updated_at']).where('id', '=', id).executeTakeFirstOrThrow()
  }
  async function inboxCount (service: 'orders' | 'payments', eventId: string): Promise<number> {
    const db = (service === 'orders' ? orders : payments)?.db as unknown as Kysely<InboxDatabase>
    const rows = await db.selectFrom('inbox').select('event_id').where('event_id', '=', eventId).execute()
    return rows.length
  }

  await t.test('the same PaymentStatusChanged twice changes the order once', async (t) => {
    const order = await newOrder()
    const changedAt = new Date(Date.now() - 60_000)
    const event = paymentEvent(order, 'success', changedAt)
    const before = { ...ordersConsumer.stats }
    await publishPayment(event)
    await publishPayment(event)
    await system.waitFor(() => ordersConsumer.stats.handled + ordersConsumer.stats.duplicates >= before.handled + before.duplicates + 2, { what: 'both copies to be consumed' })
    t.equal(ordersConsumer.stats.handled - before.handled, 1, 'applied once')
    t.equal(ordersConsumer.stats.duplicates - before.duplicates, 1, 'skipped once as a duplicate')
    const row = await orderRow(order.order_id)
    t.equal(row.status, 'success', 'the order succeeded')
    t.equal(row.updated_at.toISOString(), changedAt.toISOString(), 'changed by the event (its changed_at)')
    t.equal(await inboxCount('orders', event.id), 1, 'the event is in the inbox once')
    t.ok(orders.logs.entries().some((e) => e.msg === 'duplicate event skipped' && e.event_id === event.id), 'the duplicate is logged')
    const seen = await system.http<{ status: string }>('GET', `/api/orders/${order.order_id}`, { token: access })
    t.equal(seen.body.status, 'success', 'the player sees success')
  })

  await t.test('a failed result after a success leaves the order successful (forward only)', async (t) => {
    const order = await newOrder()
    const success = paymentEvent(order, 'success', new Date(Date.now() - 2000))
    const failed = paymentEvent(order, 'failed', new Date(Date.now() - 1000))
    await publishPayment(success)
    await system.waitFor(async () => (await orderRow(order.order_id)).status !== 'pending', { what: 'the success to be applied' })
    await publishPayment(failed)
    await system.waitFor(async () => (await inboxCount('orders', failed.id)) === 1, { what: 'the late failure to be consumed' })
    const row = await orderRow(order.order_id)
    t.equal(row.status, 'success', 'still success')
    t.equal(row.updated_at.toISOString(), success.data.changed_at, 'untouched by the late failure')
    t.equal(await inboxCount('orders', success.id), 1)
  })

  const dlqMessages = new Map<string, GetMessage>()
  /** Reads the dead-letter queue until every id has arrived (messages are acked and kept here). */
  async function deadLettered (ch: Channel, service: 'orders' | 'payments', ids: string[]): Promise<GetMessage[]> {
    const { deadLetterQueue } = serviceQueueNames(system.prefix, service)
    return await system.waitFor(async () => {
      for (;;) {
        const message = await ch.get(deadLetterQueue, { noAck: false })
        if (message === false) break
        ch.ack(message)
        dlqMessages.set(String(message.properties.messageId), message)
      }
      const found = ids.map((id) => dlqMessages.get(id))
      return found.every((m) => m !== undefined) ? found as GetMessage[] : undefined
    }, { timeoutMs: 15_000, intervalMs: 50, what: `${ids.join(', ')} in ${deadLetterQueue}` })
  }
  function errorLogged (logs: System['orders'][number]['logs'], messageId: string): Record<string, unknown> | undefined {
    return logs.entries().find((e) => e.level === 50 && e.event_id === messageId)
  }

  await t.test('poison messages go to the dead-letter queue, logged, and the queue moves on', async (t) => {
    const invalidJson = '{"id": "not closed'
    const jsonId = `poison-json-${randomUUID()}`
    const schemaId = randomUUID()
    const notAnEvent = { id: schemaId, type: 'PaymentStatusChanged', version: 1, occurred_at: new Date().toISOString(), correlation_id: 'x', data: { order_id: 'nope', status: 'paid' } }
    await publish(PaymentStatusChanged.routingKey, invalidJson, jsonId, 'PaymentStatusChanged')
    await publish(PaymentStatusChanged.routingKey, notAnEvent, schemaId, 'PaymentStatusChanged')
    const order = await newOrder()
    const valid = paymentEvent(order, 'failed', new Date())
    await publishPayment(valid)

    const [json, schema] = await deadLettered(channel, 'orders', [jsonId, schemaId])
    t.equal(json?.content.toString('utf8'), invalidJson, "orders' DLQ holds the invalid JSON as sent")
    t.same(JSON.parse(schema?.content.toString('utf8') ?? 'null'), notAnEvent, 'and the schema violation')
    t.equal(json?.fields.routingKey, 'orders', 'dead-lettered by the orders queue')

    const jsonLog = errorLogged(orders.logs, jsonId)
    t.match(jsonLog, { msg: 'invalid message sent to the dead-letter queue', routing_key: PaymentStatusChanged.routingKey, reason: /^invalid JSON/ }, 'the JSON error is logged by orders')
    const schemaLog = errorLogged(orders.logs, schemaId)
    t.match(schemaLog, { msg: 'invalid message sent to the dead-letter queue', reason: 'not a valid PaymentStatusChanged v1' }, 'the schema violation is logged')
    t.ok(Array.isArray(schemaLog?.problems) && (schemaLog.problems as unknown[]).length > 0, 'with its problems')

    await system.waitFor(async () => (await orderRow(order.order_id)).status === 'failed', { what: 'the next valid event to be applied' })
    t.pass('the valid event after the poison was applied')
    t.equal(await inboxCount('orders', schemaId), 0, 'nothing of the poison in the inbox')

    // payments' side: a broken OrderCreated, then a real order still opens its transaction
    const paymentsPoisonId = randomUUID()
    const brokenOrder = { id: paymentsPoisonId, type: 'OrderCreated', version: 1, occurred_at: new Date().toISOString(), correlation_id: 'x', data: { order_id: randomUUID(), amount: 699 } }
    await publish(OrderCreated.routingKey, brokenOrder, paymentsPoisonId, 'OrderCreated')
    const paymentsJsonId = `poison-json-${randomUUID()}`
    await publish(OrderCreated.routingKey, Buffer.from([0xff, 0xfe, 0x00]).toString('latin1'), paymentsJsonId, 'OrderCreated')
    const [poisonOrder] = await deadLettered(channel, 'payments', [paymentsPoisonId, paymentsJsonId])
    t.same(JSON.parse(poisonOrder?.content.toString('utf8') ?? 'null'), brokenOrder, "payments' DLQ holds the broken OrderCreated")
    t.match(errorLogged(payments.logs, paymentsPoisonId), { msg: 'invalid message sent to the dead-letter queue', reason: 'not a valid OrderCreated v1' }, 'logged by payments')
    t.match(errorLogged(payments.logs, paymentsJsonId), { reason: /^invalid JSON/ }, 'and the invalid JSON')
    const next = await newOrder()
    await system.waitFor(() => payments.db.selectFrom('transactions').select('status').where('transaction_id', '=', next.transaction_id).executeTakeFirst(), { what: 'the next order at payments' })
    t.pass('payments still opens transactions')
    t.equal(orders.app.messaging.consumer?.stats.deadLettered, 2, 'orders dead-lettered exactly the two poison messages')
    t.equal(payments.app.messaging.consumer?.stats.deadLettered, 2, 'payments dead-lettered exactly its two')
    for (const instance of [orders, payments]) {
      t.equal((await system.http('GET', '/ready', { baseUrl: instance.url })).status, 200, 'the service is still ready')
    }
  })

  await t.test('a result for an order orders never made is retried, then dead-lettered', async (t) => {
    const ghost: TopupBody = { order_id: randomUUID(), transaction_id: randomUUID(), status: 'pending' }
    const event = paymentEvent(ghost, 'success', new Date())
    const before = ordersConsumer.stats.failed
    await publishPayment(event)
    const [message] = await deadLettered(channel, 'orders', [event.id])
    t.same(JSON.parse(message?.content.toString('utf8') ?? 'null'), event, 'the event is in the DLQ, unchanged')
    t.ok(ordersConsumer.stats.failed - before >= 5, `retried before giving up (${ordersConsumer.stats.failed - before} failed attempts)`)
    t.ok(orders.logs.entries().some((e) => e.level === 50 && e.event_id === event.id && typeof e.msg === 'string' && e.msg.includes('dead-letter')), 'the last failure is logged as dead-lettered')
    t.equal(await inboxCount('orders', event.id), 0, 'not in the inbox')
  })
})
