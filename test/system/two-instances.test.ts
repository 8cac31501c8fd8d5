import { randomBytes } from 'node:crypto'
import t from 'tap'
import { mapLimit, startSystem, type TopupBody } from './harness.js'

const ORDERS = 100

t.test('two instances of orders and of payments share the work, each event applied once', async (t) => {
  const system = await startSystem(t, { instances: { orders: 2, payments: 2 } })
  const [orders1, orders2] = system.orders
  const [payments1, payments2] = system.payments
  if (orders1 === undefined || orders2 === undefined || payments1 === undefined || payments2 === undefined) throw new Error('two instances of each')
  t.not(orders1.url, orders2.url)
  t.not(payments1.url, payments2.url)

  const players = await mapLimit([0, 1, 2, 3], 4, async (i) => {
    const player = await system.register(`twin${i}_${randomBytes(4).toString('hex')}`)
    return await system.login(player.username)
  })

  // half the orders through the gateway (→ orders 1), half straight to orders 2
  const placed = await mapLimit(Array.from({ length: ORDERS }, (_, i) => i), 12, async (i) => {
    const token = players[i % players.length]?.access ?? ''
    const res = await system.topup(token, undefined, i % 2 === 0 ? {} : { baseUrl: orders2.url })
    return { ...res, via: i % 2 === 0 ? 'gateway' : 'orders-2' }
  })
  t.same(placed.map((r) => r.status), placed.map(() => 201), `${ORDERS} top-ups → 201`)
  const bodies: TopupBody[] = placed.map((r) => r.body)
  const orderIds = bodies.map((b) => b.order_id)
  t.equal(new Set(orderIds).size, ORDERS, 'distinct orders')

  const transactions = await system.waitFor(async () => {
    const rows = await payments1.db.selectFrom('transactions').select(['transaction_id', 'order_id', 'status']).execute()
    return rows.length >= ORDERS ? rows : undefined
  }, { timeoutMs: 30_000, intervalMs: 50, what: `${ORDERS} transactions at payments` })
  t.equal(transactions.length, ORDERS, 'one transaction per order, none twice')
  t.same(transactions.map((r) => r.order_id).sort(), [...orderIds].sort(), 'every order has its transaction')
  t.same(transactions.map((r) => r.transaction_id).sort(), bodies.map((b) => b.transaction_id).sort(), 'with the transaction id orders chose')

  // half the webhooks through the gateway (→ payments 1), half straight to payments 2
  const expected = new Map(bodies.map((b, i) => [b.order_id, i % 4 === 3 ? 'failed' as const : 'success' as const]))
  const paid = await mapLimit(bodies, 12, async (b, i) => await system.pay(b.transaction_id, expected.get(b.order_id) ?? 'success', i % 2 === 0 ? { baseUrl: payments2.url } : {}))
  t.same(paid.map((r) => r.status), paid.map(() => 200), `${ORDERS} webhooks → 200`)

  const settled = await system.waitFor(async () => {
    const rows = await orders2.db.selectFrom('orders').select(['id', 'status']).where('status', '!=', 'pending').execute()
    return rows.length >= ORDERS ? rows : undefined
  }, { timeoutMs: 30_000, intervalMs: 50, what: `${ORDERS} settled orders` })
  t.same(Object.fromEntries(settled.map((r) => [r.id, r.status])), Object.fromEntries(expected), 'every order in the status of its payment')

  await system.waitFor(async () => (await payments1.db.selectFrom('outbox').select('id').where('sent_at', 'is', null).execute()).length === 0, { what: "payments' outbox to drain" })
  const outbox = await payments1.db.selectFrom('outbox').select('event_id').where('type', '=', 'PaymentStatusChanged').execute()
  t.equal(outbox.length, ORDERS, `payments' outbox holds exactly ${ORDERS} PaymentStatusChanged`)
  const inbox = await orders1.db.selectFrom('inbox').select('event_id').where('type', '=', 'PaymentStatusChanged').execute()
  t.equal(inbox.length, ORDERS, `orders' inbox holds ${ORDERS} PaymentStatusChanged`)
  t.same(inbox.map((r) => r.event_id).sort(), outbox.map((r) => r.event_id).sort(), 'one inbox entry per event published')
  const ordersOutbox = await orders1.db.selectFrom('outbox').select('event_id').where('type', '=', 'OrderCreated').execute()
  const paymentsInbox = await payments1.db.selectFrom('inbox').select('event_id').where('type', '=', 'OrderCreated').execute()
  t.same(paymentsInbox.map((r) => r.event_id).sort(), ordersOutbox.map((r) => r.event_id).sort(), `payments' inbox: each of the ${ORDERS} OrderCreated once`)

  const stats = (instances: typeof system.orders | typeof system.payments): Array<{ handled: number, duplicates: number, published: number }> =>
    instances.map((i) => ({ handled: i.app.messaging.consumer?.stats.handled ?? 0, duplicates: i.app.messaging.consumer?.stats.duplicates ?? 0, published: i.app.messaging.relay?.stats.published ?? 0 }))
  const ordersStats = stats(system.orders)
  const paymentsStats = stats(system.payments)
  const sum = (xs: Array<{ handled: number }>): number => xs.reduce((n, x) => n + x.handled, 0)
  t.equal(sum(ordersStats), ORDERS, `the orders consumers applied ${ORDERS} events between them`)
  t.equal(sum(paymentsStats), ORDERS, `the payments consumers applied ${ORDERS} events between them`)
  t.ok(ordersStats.every((s) => s.handled > 0), 'both orders consumers did work')
  t.ok(paymentsStats.every((s) => s.handled > 0), 'both payments consumers did work')
  t.equal(ordersStats.reduce((n, s) => n + s.published, 0), ORDERS, 'the orders relays published each OrderCreated once between them')
  t.equal(paymentsStats.reduce((n, s) => n + s.published, 0), ORDERS, 'the payments relays published each PaymentStatusChanged once between them')
  const show = (name: string, xs: typeof ordersStats): string => xs.map((s, i) => `${name}-${i + 1}: consumed ${s.handled} (+${s.duplicates} dup), relayed ${s.published}`).join('; ')
  t.comment(`two instances, ${ORDERS} orders (${placed.filter((p) => p.via === 'gateway').length} via gateway → orders-1, ${placed.filter((p) => p.via === 'orders-2').length} direct to orders-2; ` +
    `webhooks ${paid.length / 2} direct to payments-2, ${paid.length / 2} via gateway → payments-1): ${show('orders', ordersStats)}; ${show('payments', paymentsStats)}`)
})
