import { randomBytes } from 'node:crypto'
import t from 'tap'
import { rabbitUrl } from '@topup/service-kit/testing'
import { mapLimit, startSystem, type TopupBody } from './harness.js'
import { brokerProxy } from './tcp-proxy.js'

const ORDER_CREATED = 'OrderCreated'
const PAYMENT_STATUS_CHANGED = 'PaymentStatusChanged'

t.test('the broker going away loses nothing and applies nothing twice', async (t) => {
  const amqp = await rabbitUrl()
  const ordersProxy = await brokerProxy(t, amqp)
  const paymentsProxy = await brokerProxy(t, amqp)
  const system = await startSystem(t, { amqpUrl: { orders: ordersProxy.url, payments: paymentsProxy.url } })
  const orders = system.orders[0]
  const payments = system.payments[0]
  if (orders === undefined || payments === undefined) throw new Error('one instance of each')
  const player = await system.register(`outage_${randomBytes(4).toString('hex')}`)
  const { access } = await system.login(player.username)

  async function placeOrders (count: number): Promise<TopupBody[]> {
    const results = await mapLimit(Array.from({ length: count }), 10, async () => await system.topup(access))
    t.same(results.map((r) => r.status), results.map(() => 201), `${count} top-ups → 201 each`)
    return results.map((r) => r.body)
  }

  await t.test('(a) orders cut off: top-ups are accepted, their events wait in the outbox and go out once', async (t) => {
    ordersProxy.cut()
    await system.waitFor(() => !orders.app.messaging.isConnected(), { what: 'orders to lose the broker' })
    const placed = await placeOrders(20)
    const orderIds = placed.map((o) => o.order_id)

    const unsent = await orders.db.selectFrom('outbox').select(['event_id', 'sent_at']).where('type', '=', ORDER_CREATED).execute()
    t.equal(unsent.length, 20, 'one OrderCreated per order in the outbox')
    t.equal(unsent.filter((r) => r.sent_at === null).length, 20, 'all unsent while the broker is away')
    const during = await payments.db.selectFrom('transactions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
    t.equal(Number(during.n), 0, 'payments has seen none of them')
    const ready = await system.http('GET', '/ready', { baseUrl: orders.url })
    t.equal(ready.status, 503, "orders' /ready reports the broker missing")

    ordersProxy.restore()
    const transactions = await system.waitFor(async () => {
      const rows = await payments.db.selectFrom('transactions').select(['transaction_id', 'order_id']).execute()
      return rows.length >= 20 ? rows : undefined
    }, { timeoutMs: 20_000, what: '20 transactions at payments' })
    // let the relay mark its last batch before reading the outbox
    await system.waitFor(async () => (await orders.db.selectFrom('outbox').select('id').where('sent_at', 'is', null).execute()).length === 0, { what: 'the outbox to drain' })

    const txOrders = transactions.map((r) => r.order_id).sort()
    t.equal(transactions.length, 20, '20 transactions')
    t.equal(new Set(transactions.map((r) => r.transaction_id)).size, 20, '20 distinct transaction ids')
    t.same(txOrders, [...orderIds].sort(), 'one transaction for each order placed during the outage')
    t.same(transactions.map((r) => r.transaction_id).sort(), placed.map((o) => o.transaction_id).sort(), 'with the transaction ids orders chose')

    const inbox = await payments.db.selectFrom('inbox').select(['event_id']).where('type', '=', ORDER_CREATED).execute()
    t.equal(inbox.length, 20, "20 OrderCreated in payments' inbox")
    t.same(inbox.map((r) => r.event_id).sort(), unsent.map((r) => r.event_id).sort(), 'exactly the events of the outbox, each once')
    const relay = orders.app.messaging.relay?.stats
    const consumer = payments.app.messaging.consumer?.stats
    t.ok((relay?.published ?? 0) >= 20, 'the relay published them after the outage')
    t.comment(`outage (a): 20 top-ups accepted while orders was cut off; outbox unsent during the cut: ${unsent.filter((r) => r.sent_at === null).length}; ` +
      `after restore: ${transactions.length} transactions (${new Set(transactions.map((r) => r.transaction_id)).size} distinct), payments inbox OrderCreated: ${inbox.length}; ` +
      `orders relay published=${relay?.published ?? '?'} failures=${relay?.failures ?? '?'}; payments consumer handled=${consumer?.handled ?? '?'} duplicates=${consumer?.duplicates ?? '?'}; ` +
      `orders broker connections through the proxy: ${ordersProxy.accepted}`)
  })

  await t.test('(b) payments cut off while settling: every webhook 200, every order settled once after', async (t) => {
    const placed = await placeOrders(30)
    const transactionIds = placed.map((o) => o.transaction_id)
    await system.waitFor(async () => (await payments.db.selectFrom('transactions').select('transaction_id').where('transaction_id', 'in', transactionIds).execute()).length === 30,
      { timeoutMs: 20_000, what: 'the 30 transactions' })

    paymentsProxy.cut()
    await system.waitFor(() => !payments.app.messaging.isConnected(), { what: 'payments to lose the broker' })
    const expected = new Map(placed.map((o, i) => [o.order_id, i % 3 === 0 ? 'failed' as const : 'success' as const]))
    const paid = await mapLimit(placed, 10, async (o) => await system.pay(o.transaction_id, expected.get(o.order_id) ?? 'success'))
    t.same(paid.map((r) => r.status), paid.map(() => 200), '30 webhooks → 200 while payments cannot reach the broker')
    t.same(paid.map((r) => r.body.changed), paid.map(() => true), 'each one settled its transaction')

    const outbox = await payments.db.selectFrom('outbox').select(['event_id', 'sent_at']).where('type', '=', PAYMENT_STATUS_CHANGED).execute()
    const unsentDuringCut = outbox.filter((r) => r.sent_at === null).length
    t.equal(outbox.length, 30, '30 PaymentStatusChanged in the outbox')
    t.equal(unsentDuringCut, 30, 'all unsent while the broker is away')
    const stillPending = await orders.db.selectFrom('orders').select('id').where('id', 'in', [...expected.keys()]).where('status', '=', 'pending').execute()
    t.equal(stillPending.length, 30, 'the orders are still pending')

    paymentsProxy.restore()
    const settled = await system.waitFor(async () => {
      const rows = await orders.db.selectFrom('orders').select(['id', 'status']).where('id', 'in', [...expected.keys()]).where('status', '!=', 'pending').execute()
      return rows.length === 30 ? rows : undefined
    }, { timeoutMs: 20_000, what: 'the 30 orders to settle' })
    t.same(Object.fromEntries(settled.map((r) => [r.id, r.status])), Object.fromEntries(expected), 'every order in the status its payment reported')
    await system.waitFor(async () => (await payments.db.selectFrom('outbox').select('id').where('sent_at', 'is', null).execute()).length === 0, { what: "payments' outbox to drain" })

    const inbox = await orders.db.selectFrom('inbox').select('event_id').where('type', '=', PAYMENT_STATUS_CHANGED).execute()
    t.equal(inbox.length, 30, "30 PaymentStatusChanged in orders' inbox")
    t.same(inbox.map((r) => r.event_id).sort(), outbox.map((r) => r.event_id).sort(), 'exactly the events of payments\' outbox, each once')
    const consumer = orders.app.messaging.consumer?.stats
    t.equal(consumer?.handled, 30, 'the orders consumer applied 30 events')
    const sample = placed[0]
    if (sample !== undefined) {
      const viaGateway = await system.http<{ status: string }>('GET', `/api/orders/${sample.order_id}`, { token: access })
      t.equal(viaGateway.body.status, expected.get(sample.order_id), 'and the player sees it through the gateway')
    }
    const relay = payments.app.messaging.relay?.stats
    t.comment(`outage (b): 30 webhooks answered 200 while payments was cut off; outbox unsent during the cut: ${unsentDuringCut}; ` +
      `after restore: ${settled.length} orders settled (${settled.filter((r) => r.status === 'success').length} success, ${settled.filter((r) => r.status === 'failed').length} failed), ` +
      `orders inbox PaymentStatusChanged: ${inbox.length} (${new Set(inbox.map((r) => r.event_id)).size} distinct); ` +
      `payments relay published=${relay?.published ?? '?'} failures=${relay?.failures ?? '?'}; orders consumer handled=${consumer?.handled ?? '?'} duplicates=${consumer?.duplicates ?? '?'}`)
  })

  await t.test('(c) orders cut off in the middle of a stream of top-ups: still each once', async (t) => {
    const before = await payments.db.selectFrom('transactions').select('transaction_id').execute()
    const placing = mapLimit(Array.from({ length: 40 }), 4, async () => await system.topup(access))
    // cut once the relay is busy publishing this stream
    const publishedBefore = orders.app.messaging.relay?.stats.published ?? 0
    await system.waitFor(() => (orders.app.messaging.relay?.stats.published ?? 0) >= publishedBefore + 5, { intervalMs: 1, what: 'the relay to publish a few' })
    ordersProxy.cut()
    await system.waitFor(() => !orders.app.messaging.isConnected(), { what: 'orders to lose the broker' })
    const results = await placing
    t.same(results.map((r) => r.status), results.map(() => 201), '40 top-ups → 201 across the cut')
    const unsentAtCut = (await orders.db.selectFrom('outbox').select('id').where('sent_at', 'is', null).execute()).length
    ordersProxy.restore()
    const ids = results.map((r) => r.body.transaction_id)
    const rows = await system.waitFor(async () => {
      const found = await payments.db.selectFrom('transactions').select('transaction_id').where('transaction_id', 'in', ids).execute()
      return found.length === 40 ? found : undefined
    }, { timeoutMs: 20_000, what: 'the 40 transactions' })
    await system.waitFor(async () => (await orders.db.selectFrom('outbox').select('id').where('sent_at', 'is', null).execute()).length === 0, { what: 'the outbox to drain' })
    t.equal(new Set(rows.map((r) => r.transaction_id)).size, 40, 'each order once at payments')
    const all = await payments.db.selectFrom('transactions').select('transaction_id').execute()
    t.equal(all.length, before.length + 40, 'and nothing else')
    const outbox = await orders.db.selectFrom('outbox').select('event_id').where('type', '=', ORDER_CREATED).execute()
    const inbox = await payments.db.selectFrom('inbox').select('event_id').where('type', '=', ORDER_CREATED).execute()
    t.same(inbox.map((r) => r.event_id).sort(), outbox.map((r) => r.event_id).sort(), "payments' inbox: every OrderCreated of the outbox, once")
    const consumer = payments.app.messaging.consumer?.stats
    const relay = orders.app.messaging.relay?.stats
    t.comment(`outage (c): cut after the relay had published ${(relay?.published ?? 0) >= publishedBefore + 5 ? '≥5' : '?'} of a stream of 40; unsent at the cut: ${unsentAtCut}; ` +
      `after restore ${rows.length} transactions; orders relay published=${relay?.published ?? '?'} failures=${relay?.failures ?? '?'}; payments consumer handled=${consumer?.handled ?? '?'} duplicates=${consumer?.duplicates ?? '?'}`)
  })
})
