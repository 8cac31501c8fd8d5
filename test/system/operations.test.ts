/**
 * What an operator sees of one order, through the gateway, broker and every
 * service: the metrics move when it is placed and paid, and the request id of
 * the top-up is in every log line each service writes about it (one grep
 * shows the order's whole life: docs/OPERATORS.md §7, §8).
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { demoTopup, startSystem } from './harness.js'

/** Every sample of a Prometheus text exposition: `name{labels}` → value. */
async function scrape (instance: { url: string }): Promise<Map<string, number>> {
  const res = await fetch(`${instance.url}/metrics`)
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`)
  const samples = new Map<string, number>()
  for (const line of (await res.text()).split('\n')) {
    const match = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line)
    if (match === null) continue
    // labels sorted, the service label dropped: one key per series whatever their order
    const labels = (match[2] ?? '').slice(1, -1).split(/,(?=[a-z_]+=)/).filter((l) => l !== '' && !l.startsWith('service=')).sort().join(',')
    samples.set(`${match[1] ?? ''}{${labels}}`, Number(match[3]))
  }
  return samples
}

const series = (name: string, labels: Record<string, string> = {}): string =>
  `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`

t.test('one order, seen by an operator', async (t) => {
  const system = await startSystem(t)
  const orders = system.orders[0]
  const payments = system.payments[0]
  const analytics = system.analytics
  if (orders === undefined || payments === undefined || analytics === null) throw new Error('every service runs')
  const player = await system.register(`ops_${randomUUID().slice(0, 8)}`)
  const { access } = await system.login(player.username)
  const instances = { orders, payments, analytics }
  const before = Object.fromEntries(await Promise.all(Object.entries(instances).map(async ([name, i]) => [name, await scrape(i)] as const)))

  const requestId = `trace-${randomUUID()}`
  const placed = await system.http<{ order_id: string, transaction_id: string }>('POST', '/api/topup/', { token: access, body: demoTopup, headers: { 'x-request-id': requestId } })
  t.equal(placed.status, 201, placed.text)
  t.equal(placed.headers.get('x-request-id'), requestId, 'the client\'s request id is kept')
  const { order_id: orderId, transaction_id: transactionId } = placed.body
  await system.waitFor(() => payments.db.selectFrom('transactions').select('status').where('transaction_id', '=', transactionId).executeTakeFirst(), { what: 'the transaction at payments' })
  const paid = await system.pay(transactionId, 'success')
  t.equal(paid.status, 200, paid.text)
  await system.waitFor(async () => (await orders.db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirstOrThrow()).status === 'success', { what: 'the order to be paid at orders' })
  await system.waitFor(async () => (await analytics.db.selectFrom('inbox').select('event_id').where('type', '=', 'PaymentStatusChanged').execute()).length === 1, { what: 'analytics to apply the payment' })

  await t.test('the metrics moved', async (t) => {
    const after = Object.fromEntries(await Promise.all(Object.entries(instances).map(async ([name, i]) => [name, await scrape(i)] as const)))
    const moved = (service: keyof typeof instances, key: string): number => (after[service]?.get(key) ?? 0) - (before[service]?.get(key) ?? 0)
    t.equal(moved('orders', series('orders_created_total')), 1, 'orders: one order created')
    t.equal(moved('orders', series('events_published_total', { type: 'OrderCreated' })), 1, 'orders: OrderCreated published')
    t.equal(moved('orders', series('events_consumed_total', { type: 'PaymentStatusChanged', outcome: 'applied' })), 1, 'orders: the payment applied')
    t.equal(moved('payments', series('events_consumed_total', { type: 'OrderCreated', outcome: 'applied' })), 1, 'payments: the order applied')
    t.equal(moved('payments', series('payments_settled_total', { status: 'success', reason: 'webhook' })), 1, 'payments: one settled by its webhook')
    t.equal(moved('payments', series('events_published_total', { type: 'PaymentStatusChanged' })), 1, 'payments: PaymentStatusChanged published')
    t.equal(moved('analytics', series('events_consumed_total', { type: 'OrderCreated', outcome: 'applied' })), 1, 'analytics: the order applied')
    t.equal(moved('analytics', series('events_consumed_total', { type: 'PaymentStatusChanged', outcome: 'applied' })), 1, 'analytics: the payment applied')
    t.equal(moved('analytics', series('event_lag_seconds_count', { type: 'PaymentStatusChanged' })), 1, 'analytics: its lag observed')
    t.equal(moved('payments', series('event_processing_seconds_count', { type: 'OrderCreated' })), 1, 'payments: its processing time observed')
    t.equal(after.orders?.get(series('outbox_unsent_events')), 0, 'orders: nothing left in the outbox')
    t.equal(after.payments?.get(series('outbox_oldest_unsent_age_seconds')), 0, 'payments: no unsent event, so no age')
    t.equal(after.analytics?.get(series('queue_messages', { queue: 'dead_letter' })), 0, 'analytics: nothing dead-lettered')
    t.ok((after.payments?.get(series('db_pool_connections', { state: 'max' })) ?? 0) > 0, 'payments: the pool size is shown')
    t.equal(moved('analytics', series('events_dead_lettered_total', { type: 'OrderCreated', reason: 'invalid' })), 0)
  })

  await t.test('one grep for the request id shows the order\'s whole life', async (t) => {
    const lines = system.allLogs().split('\n').filter((line) => line.includes(requestId)).map((line) => JSON.parse(line) as Record<string, unknown>)
    const seen = (service: string, msg: string, type?: string): boolean =>
      lines.some((l) => l.service === service && l.msg === msg && (type === undefined || l.type === type))
    t.ok(seen('gateway', 'request completed'), 'gateway: the top-up request')
    t.ok(seen('orders', 'request completed'), 'orders: the top-up request')
    t.ok(seen('payments', 'event applied', 'OrderCreated'), 'payments: OrderCreated applied')
    t.ok(seen('analytics', 'event applied', 'OrderCreated'), 'analytics: OrderCreated applied')
    t.ok(lines.some((l) => l.service === 'payments' && l.msg === 'request completed' && (l.req as { url?: string } | undefined)?.url?.startsWith('/api/payment/webhook') === true), 'payments: the webhook\'s request line')
    t.ok(seen('orders', 'event applied', 'PaymentStatusChanged'), 'orders: the payment applied')
    t.ok(seen('analytics', 'event applied', 'PaymentStatusChanged'), 'analytics: the payment applied')
    t.same([...new Set(lines.map((l) => l.service))].sort(), ['analytics', 'gateway', 'orders', 'payments'])
  })
})
