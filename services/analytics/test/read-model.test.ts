import t from 'tap'
import { randomUUID } from 'node:crypto'
import { BrokerConnection } from '@topup/messaging'
import { OrderCreated, PaymentStatusChanged } from '@topup/contracts'
import { build, orderCreated, paymentChanged, waitFor, type Harness } from './helper.js'

const DAY = '2026-03-10'
const url = `/api/analytics/summary/?start_date=${DAY}&end_date=${DAY}`

async function figures (h: Harness) {
  const res = await h.app.inject({ url, headers: h.staff() })
  t.equal(res.statusCode, 200, res.body)
  return res.json()
}

async function facts (h: Harness, orderId: string) {
  return await h.app.db.selectFrom('order_facts').selectAll().where('order_id', '=', orderId).executeTakeFirst()
}

t.test('out of order, duplicated and contradicting events end as if delivered once, in order', async (t) => {
  const h = await build(t)
  const order = orderCreated({ created_at: `${DAY}T12:00:00.000Z`, amount: '100.00' })
  const paid = paymentChanged(order, 'success')

  t.equal(await h.deliver(paid), true, 'payment first: applied')
  const partial = await facts(h, order.data.order_id)
  t.match(partial, { status: 'success', created_at: null, user_email: null }, 'a partial row holds the status')
  let body = await figures(h)
  t.equal(body.totals.orders, 0, 'a partial row counts nowhere')

  t.equal(await h.deliver(paid), false, 'the duplicate is skipped by the inbox')
  t.equal(await h.deliver(order), true)
  t.equal(await h.deliver(order), false)
  const complete = await facts(h, order.data.order_id)
  t.match(complete, { status: 'success', user_email: 'player@players.test', product_name: 'UC Pack 500', amount: '100.00' })
  t.ok(complete?.created_at instanceof Date && complete.settled_at instanceof Date)
  body = await figures(h)
  t.match(body.totals, { orders: 1, successful_orders: 1, failed_orders: 0, revenue: '100.00', success_rate: '100.00' })

  // a contradicting later result (another event id) never moves a terminal status
  t.equal(await h.deliver(paymentChanged(order, 'failed')), true)
  t.equal((await facts(h, order.data.order_id))?.status, 'success', 'forward only')
  body = await figures(h)
  t.match(body.totals, { orders: 1, successful_orders: 1, failed_orders: 0, revenue: '100.00' })

  // in order: pending, then failed
  const second = orderCreated({ created_at: `${DAY}T13:00:00.000Z`, amount: '50.00' })
  await h.deliver(second)
  body = await figures(h)
  t.match(body.totals, { orders: 2, successful_orders: 1, pending_orders: 1, revenue: '100.00', success_rate: '50.00' })
  await h.deliver(paymentChanged(second, 'failed'))
  await h.deliver(paymentChanged(second, 'success'))
  body = await figures(h)
  t.match(body.totals, { orders: 2, successful_orders: 1, failed_orders: 1, pending_orders: 0, revenue: '100.00' })

  // the same order announced again under a new event id changes nothing
  await h.deliver({ ...second, id: randomUUID() })
  body = await figures(h)
  t.equal(body.totals.orders, 2)
  t.same(body.top_users, [{ user_id: second.data.user_id, user_email: 'player@players.test', orders: 2 }])
})

t.test('concurrent events of one order serialize on its row', async (t) => {
  const h = await build(t)
  const orders = Array.from({ length: 30 }, (_, i) => orderCreated({ created_at: `${DAY}T10:${String(i).padStart(2, '0')}:00.000Z`, amount: '10.00' }))
  await Promise.all(orders.flatMap((o, i) => [h.deliver(o), h.deliver(paymentChanged(o, i % 3 === 0 ? 'failed' : 'success'))]))
  const body = await figures(h)
  t.match(body.totals, { orders: 30, successful_orders: 20, failed_orders: 10, revenue: '200.00' })
})

t.test('the two first events of an order racing to create its row never fail', async (t) => {
  // Both events insert the row if it is missing; the row has two unique keys
  // (order_id, transaction_id). Inserts racing past each other must end as one
  // row and one no-op, not as a unique violation on the key not arbitrated.
  // The race window is narrow: many rounds make it show without the fix.
  const h = await build(t)
  const rounds = 20
  const perRound = 100
  const failures: string[] = []
  for (let round = 0; round < rounds; round++) {
    const orders = Array.from({ length: perRound }, () => orderCreated({ created_at: `${DAY}T11:00:00.000Z`, amount: '1.00' }))
    const results = await Promise.allSettled(orders.flatMap((o) => [h.deliver(o), h.deliver(paymentChanged(o, 'success'))]))
    for (const r of results) if (r.status === 'rejected') failures.push((r.reason as Error).message)
  }
  t.same(failures, [], 'every delivery applied')
  const body = await figures(h)
  t.match(body.totals, { orders: rounds * perRound, successful_orders: rounds * perRound, revenue: `${rounds * perRound}.00` })

  // no longer arbitrated by order_id alone: a transaction id under another order is still an error, not a no-op
  const first = orderCreated({ created_at: `${DAY}T12:00:00.000Z`, amount: '1.00' })
  await h.deliver(first)
  const impostor = orderCreated({ created_at: `${DAY}T12:00:00.000Z`, amount: '1.00', transaction_id: first.data.transaction_id })
  await t.rejects(h.deliver(impostor), /already belongs to another order/)
  t.notOk(await facts(h, impostor.data.order_id), 'and it left no row')
})

t.test('through the broker: own queue, inbox, dead-letter queue for a bad message', async (t) => {
  const h = await build(t)
  await waitFor('the consumer', () => h.app.messaging.consumer !== null && h.app.messaging.isConnected())
  const log = { info () {}, warn () {}, error () {}, debug () {} } as never
  const connection = await BrokerConnection.open({ url: h.amqpUrl, prefix: h.prefix, log })
  t.teardown(async () => { await connection.close() })
  await connection.waitUntilConnected(10_000)
  const order = orderCreated({ created_at: `${DAY}T08:00:00.000Z`, amount: '20.00' })
  const paid = paymentChanged(order, 'success')
  const publish = async (routingKey: string, event: { id: string, type: string, data: object }) => {
    await connection.publish(routingKey, Buffer.from(JSON.stringify(event)), { messageId: event.id, type: event.type })
  }
  await publish(PaymentStatusChanged.routingKey, paid)
  await publish(PaymentStatusChanged.routingKey, paid)
  await publish(OrderCreated.routingKey, order)
  await publish(OrderCreated.routingKey, { ...order, id: randomUUID(), data: { ...order.data, amount: 'free' } })
  const consumer = h.app.messaging.consumer
  // settled, not just received: handled, skipped as a duplicate, or dead-lettered
  await waitFor('every message settled', () => { const st = consumer?.stats; return st !== undefined && st.handled + st.duplicates + st.deadLettered >= 4 })
  t.match(consumer?.stats, { handled: 2, duplicates: 1, deadLettered: 1 })
  const body = await figures(h)
  t.match(body.totals, { orders: 1, successful_orders: 1, revenue: '20.00' })
  t.ok(h.logs.text.includes('invalid message sent to the dead-letter queue'))
  const channel = await connection.createChannel()
  const dlq = await channel.checkQueue(`${h.prefix}analytics.events.dlq`)
  t.equal(dlq.messageCount, 1, 'the bad message waits in the DLQ')
  await channel.close()
})
