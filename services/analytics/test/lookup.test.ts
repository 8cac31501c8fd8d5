import t from 'tap'
import { randomUUID } from 'node:crypto'
import { build, orderCreated, paymentChanged, type Harness } from './helper.js'

async function lookup (h: Harness, query: string, headers: Record<string, string> = h.staff()) {
  const res = await h.app.inject({ url: `/api/analytics/lookup/${query}`, headers })
  return { status: res.statusCode, body: res.json(), headers: res.headers }
}

t.test('GET /api/analytics/lookup/: support finds an order and its timeline', async (t) => {
  const h = await build(t)
  const order = orderCreated({ created_at: '2026-03-10T08:00:00.000Z', user_email: 'asha@players.test', amount: '699.00' })
  await h.deliver(order)
  await h.deliver(paymentChanged(order, 'success', '2026-03-10T08:01:30.000Z'))
  // a late contradicting result: changes nothing, but support sees it
  await h.deliver(paymentChanged(order, 'failed', '2026-03-10T09:00:00.000Z'))

  t.test('staff only', async (t) => {
    t.equal((await h.app.inject({ url: `/api/analytics/lookup/?order_id=${order.data.order_id}` })).statusCode, 401)
    const player = await lookup(h, `?order_id=${order.data.order_id}`, h.player())
    t.equal(player.status, 403)
    t.equal(player.body.message, 'Staff access required.')
  })

  const expected = {
    order_id: order.data.order_id,
    transaction_id: order.data.transaction_id,
    user_email: 'asha@players.test',
    game: { id: 1, code: 'coc123', name: 'clash of clan' },
    product: { id: 4, name: 'UC Pack 500' },
    amount: '699.00',
    currency: 'INR',
    status: 'success',
    created_at: '2026-03-10T08:00:00.000Z',
    settled_at: '2026-03-10T08:01:30.000Z',
    timeline: [
      { at: '2026-03-10T08:00:00.000Z', kind: 'created', status: 'pending', previous_status: null, provider: null, applied: true },
      { at: '2026-03-10T08:01:30.000Z', kind: 'payment', status: 'success', previous_status: 'pending', provider: 'sandbox', applied: true },
      { at: '2026-03-10T09:00:00.000Z', kind: 'payment', status: 'failed', previous_status: 'pending', provider: 'sandbox', applied: false }
    ]
  }

  t.test('by order id', async (t) => {
    const res = await lookup(h, `?order_id=${order.data.order_id}`)
    t.equal(res.status, 200)
    t.equal(res.headers['cache-control'], 'no-store', 'personal data: never cached')
    t.equal(res.body.field, 'order_id')
    t.equal(res.body.orders.length, 1)
    t.match(res.body.orders[0], expected)
    t.same(res.body.orders[0].timeline, expected.timeline, 'created, the payment, the ignored late result, in time order')
    t.equal((await lookup(h, `?order_id=${order.data.order_id.toUpperCase()}`)).body.orders.length, 1, 'any case')
  })

  t.test('by transaction id', async (t) => {
    const res = await lookup(h, `?transaction_id=${order.data.transaction_id}`)
    t.equal(res.status, 200)
    t.equal(res.body.field, 'transaction_id')
    t.match(res.body.orders, [expected])
    t.same((await lookup(h, `?order_id=${order.data.transaction_id}`)).body.orders, [], 'a transaction id is not an order id')
  })

  t.test('by e-mail: the customer\'s orders, newest first, at most 20', async (t) => {
    const newer = orderCreated({ created_at: '2026-03-11T08:00:00.000Z', user_email: 'asha@players.test' })
    await h.deliver(newer)
    await h.deliver(orderCreated({ created_at: '2026-03-12T08:00:00.000Z', user_email: 'ben@players.test' }))
    const res = await lookup(h, '?email=%20Asha@Players.TEST%20')
    t.equal(res.status, 200)
    t.equal(res.body.field, 'email')
    t.same(res.body.orders.map((o: { order_id: string }) => o.order_id), [newer.data.order_id, order.data.order_id], 'only hers, newest first (trimmed, any case)')
    t.equal(res.body.more, false)
    t.same(res.body.orders[0].timeline.map((e: { kind: string }) => e.kind), ['created'], 'a pending order: created only')

    for (let i = 0; i < 21; i++) await h.deliver(orderCreated({ created_at: `2026-02-${String(i + 1).padStart(2, '0')}T08:00:00.000Z`, user_email: 'many@players.test' }))
    const many = await lookup(h, '?email=many@players.test')
    t.equal(many.body.orders.length, 20)
    t.equal(many.body.more, true, 'says there are more')
    t.equal(many.body.orders[0].created_at, '2026-02-21T08:00:00.000Z')
  })

  t.test('a payment result whose order has not arrived: the result, and no order data yet', async (t) => {
    const early = orderCreated({ created_at: '2026-03-13T08:00:00.000Z' })
    await h.deliver(paymentChanged(early, 'failed', '2026-03-13T08:05:00.000Z'))
    const res = await lookup(h, `?order_id=${early.data.order_id}`)
    t.match(res.body.orders, [{ status: 'failed', created_at: null, user_email: null, game: null, product: null, timeline: [{ kind: 'payment', status: 'failed', applied: true }] }])
    await h.deliver(early)
    t.same((await lookup(h, `?order_id=${early.data.order_id}`)).body.orders[0].timeline.map((e: { kind: string }) => e.kind), ['created', 'payment'], 'completed once it arrives')
  })

  t.test('nothing found: an empty list', async (t) => {
    for (const query of [`?order_id=${randomUUID()}`, `?transaction_id=${randomUUID()}`, '?email=nobody@players.test']) {
      const res = await lookup(h, query)
      t.equal(res.status, 200, query)
      t.same(res.body.orders, [], query)
    }
  })

  t.test('bad input: 400 naming the field', async (t) => {
    for (const [query, field, reason] of [
      ['', 'order_id', /give one of order_id, transaction_id or email/],
      ['?order_id=', 'order_id', /give one of/],
      ['?order_id=42', 'order_id', /must be a UUID/],
      [`?order_id=${order.data.order_id}x`, 'order_id', /must be a UUID/],
      ['?transaction_id=not-a-uuid', 'transaction_id', /must be a UUID/],
      ['?email=asha', 'email', /must be an e-mail address/],
      ['?email=a%20b@c', 'email', /must be an e-mail address/],
      [`?order_id=${order.data.order_id}&email=asha@players.test`, 'email', /cannot be combined with order_id/],
      ['?colour=blue', 'order_id', /give one of/]
    ] as const) {
      const res = await lookup(h, query)
      t.equal(res.status, 400, `${query}: 400`)
      t.equal(res.body.details?.[0]?.field, field, `${query}: names ${field}`)
      t.match(res.body.details?.[0]?.message, reason, `${query}: says why`)
    }
  })
})
