import t from 'tap'
import { build, GAME, orderCreated, paymentChanged, type Harness } from './helper.js'

const NOW = new Date('2026-03-15T09:30:00.000Z')

async function summary (h: Harness, query: string) {
  const res = await h.app.inject({ url: `/api/analytics/summary/${query}`, headers: h.staff() })
  return { status: res.statusCode, body: res.json() }
}

async function settle (h: Harness, createdAt: string, status: 'success' | 'failed' | 'pending', spec: Partial<Parameters<typeof orderCreated>[0]> = {}) {
  const order = orderCreated({ created_at: createdAt, ...spec })
  await h.deliver(order)
  if (status !== 'pending') await h.deliver(paymentChanged(order, status))
  return order
}

t.test('figures and their rules', async (t) => {
  const h = await build(t, { now: () => NOW })

  t.test('UTC day boundaries, inclusive range, zero days', async (t) => {
    await settle(h, '2026-03-09T23:59:59.999Z', 'success', { amount: '1.00' })
    await settle(h, '2026-03-10T00:00:00.000Z', 'success', { amount: '2.00' })
    await settle(h, '2026-03-12T23:59:59.999Z', 'success', { amount: '4.00' })
    await settle(h, '2026-03-13T00:00:00.000Z', 'success', { amount: '8.00' })
    // an offset timestamp is placed on its UTC day: 2026-03-11T01:00+05:00 is 2026-03-10T20:00Z
    await settle(h, '2026-03-11T01:00:00.000+05:00', 'success', { amount: '16.00' })
    const { status, body } = await summary(h, '?start_date=2026-03-10&end_date=2026-03-12')
    t.equal(status, 200)
    t.same(body.daily_revenue, [
      { date: '2026-03-10', revenue: '18.00', orders: 2, successful_orders: 2 },
      { date: '2026-03-11', revenue: '0.00', orders: 0, successful_orders: 0 },
      { date: '2026-03-12', revenue: '4.00', orders: 1, successful_orders: 1 }
    ])
    t.equal(body.totals.revenue, '22.00')
    const one = await summary(h, '?start_date=2026-03-09&end_date=2026-03-09')
    t.same(one.body.daily_revenue, [{ date: '2026-03-09', revenue: '1.00', orders: 1, successful_orders: 1 }])
    const empty = await summary(h, '?start_date=2020-01-01&end_date=2020-01-03')
    t.same(empty.body.daily_revenue.map((d: { revenue: string }) => d.revenue), ['0.00', '0.00', '0.00'])
    t.match(empty.body.totals, { revenue: '0.00', orders: 0, success_rate: null })
    t.same(empty.body.top_products, [])
    t.same(empty.body.revenue_by_game, [])
  })

  t.test('default range: the last 30 days, today included; one end given', async (t) => {
    const { body } = await summary(h, '')
    t.equal(body.start_date, '2026-02-14')
    t.equal(body.end_date, '2026-03-15')
    t.equal(body.daily_revenue.length, 30)
    t.equal(body.daily_revenue[29].date, '2026-03-15')
    t.match((await summary(h, '?start_date=2026-03-01')).body, { start_date: '2026-03-01', end_date: '2026-03-15' })
    t.match((await summary(h, '?end_date=2026-01-30')).body, { start_date: '2026-01-01', end_date: '2026-01-30' })
    t.match((await summary(h, '?start_date=2026-04-01')).body, { start_date: '2026-04-01', end_date: '2026-04-01' })
  })

  t.test('top 5 products and users: ties broken by name, then id', async (t) => {
    const day = '2026-01-05'
    const names = ['Pack F', 'Pack B', 'Pack E', 'Pack A', 'Pack D', 'Pack C']
    for (const [i, name] of names.entries()) {
      await settle(h, `${day}T10:00:00.000Z`, 'success', { product: { id: 100 + i, name }, user_id: `00000000-0000-4000-8000-00000000000${i}`, user_email: `${name.slice(-1).toLowerCase()}@players.test`, amount: '10.00' })
    }
    // Pack F gets a second successful order, Pack A a failed one (does not count), user f two more orders
    await settle(h, `${day}T11:00:00.000Z`, 'success', { product: { id: 100, name: 'Pack F' }, user_id: '00000000-0000-4000-8000-000000000000', user_email: 'f@players.test', amount: '10.00' })
    await settle(h, `${day}T12:00:00.000Z`, 'failed', { product: { id: 103, name: 'Pack A' }, user_id: '00000000-0000-4000-8000-000000000000', user_email: 'f@players.test', amount: '10.00' })
    const { body } = await summary(h, `?start_date=${day}&end_date=${day}`)
    t.same(body.top_products.map((p: { product_name: string, successful_orders: number }) => [p.product_name, p.successful_orders]),
      [['Pack F', 2], ['Pack A', 1], ['Pack B', 1], ['Pack C', 1], ['Pack D', 1]])
    t.same(body.top_users.map((u: { user_email: string, orders: number }) => [u.user_email, u.orders]),
      [['f@players.test', 3], ['a@players.test', 1], ['b@players.test', 1], ['c@players.test', 1], ['d@players.test', 1]])
    t.same(body.revenue_by_game, [{ game_id: GAME.id, game_name: GAME.name, revenue: '70.00', orders: 8, successful_orders: 7 }])
    t.match(body.totals, { orders: 8, successful_orders: 7, failed_orders: 1, success_rate: '87.50' })
  })

  t.test('failed payments: this calendar month, and per month of the range', async (t) => {
    await settle(h, '2026-02-28T23:59:59.999Z', 'failed')
    await settle(h, '2026-03-01T00:00:00.000Z', 'failed')
    await settle(h, '2026-03-31T23:00:00.000Z', 'failed')
    await settle(h, '2026-04-01T00:00:00.000Z', 'failed')
    await settle(h, '2026-03-02T00:00:00.000Z', 'pending')
    const { body } = await summary(h, '?start_date=2026-02-01&end_date=2026-03-10')
    t.same(body.failed_payments, {
      this_month: { month: '2026-03', count: 2 },
      by_month: [{ month: '2026-02', count: 1 }, { month: '2026-03', count: 1 }]
    })
    const far = await summary(h, '?start_date=2025-12-30&end_date=2026-01-02')
    t.same(far.body.failed_payments.by_month, [{ month: '2025-12', count: 0 }, { month: '2026-01', count: 0 }])
    t.equal(far.body.failed_payments.this_month.count, 2, 'this month whatever the range')
  })

  t.test('bad ranges: 400 naming the field and the reason', async (t) => {
    const cases: Array<[string, string, RegExp]> = [
      ['?start_date=2026-3-01', 'start_date', /YYYY-MM-DD/],
      ['?end_date=yesterday', 'end_date', /YYYY-MM-DD/],
      ['?start_date=2026-02-30', 'start_date', /real calendar date/],
      ['?end_date=2025-02-29', 'end_date', /real calendar date/],
      ['?start_date=2026-03-10&end_date=2026-03-09', 'end_date', /before start_date/],
      ['?start_date=2025-01-01&end_date=2026-01-02', 'end_date', /366 days/]
    ]
    for (const [query, field, reason] of cases) {
      const { status, body } = await summary(h, query)
      t.equal(status, 400, query)
      t.equal(body.details?.[0]?.field, field, `${query}: names ${field}`)
      t.match(body.details?.[0]?.message, reason, `${query}: says why`)
    }
    t.equal((await summary(h, '?start_date=2024-02-29&end_date=2025-02-28')).status, 200, '366 days, leap day included, is allowed')
    t.equal((await summary(h, '?start_date=2025-01-01&end_date=2026-01-01')).status, 200, '366 days')
  })
})

t.test('staff only: summary and both exports', async (t) => {
  const h = await build(t)
  for (const url of ['/api/analytics/summary/', '/api/export/orders/', '/api/export/failures/', '/api/analytics/summary', '/api/export/orders']) {
    const anonymous = await h.app.inject({ url })
    t.equal(anonymous.statusCode, 401, `${url} without a token`)
    t.match(anonymous.json(), { statusCode: 401, error: 'Unauthorized' })
    const player = await h.app.inject({ url, headers: h.player() })
    t.equal(player.statusCode, 403, `${url} with a player token`)
    const expired = await h.app.inject({ url, headers: { authorization: `Bearer ${h.issuer.token({ sub: 'x', staff: true }, { expiresInSeconds: -10 })}` } })
    t.equal(expired.statusCode, 401, `${url} with an expired staff token`)
  }
  const page = await h.app.inject({ url: '/api/dashboard/' })
  t.equal(page.statusCode, 200, 'the page itself is public: it holds no data')
  t.match(page.headers['content-type'], /^text\/html/)
  const csp = String(page.headers['content-security-policy'])
  for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "frame-ancestors 'none'"]) {
    t.ok(csp.includes(directive), `CSP has ${directive}`)
  }
  t.notOk(csp.includes('unsafe-inline'), 'no unsafe-inline')
  t.notOk(page.body.includes('style='), 'no inline style attribute')
  t.notOk(/<script(?![^>]*\bsrc=)[^>]*>/.test(page.body), 'no inline script')
  t.notOk(/https?:\/\//.test(page.body), 'no external URL (no CDN)')
  for (const asset of ['dashboard.css', 'dashboard.js', 'chart.umd.js']) {
    const res = await h.app.inject({ url: `/api/dashboard/assets/${asset}` })
    t.equal(res.statusCode, 200, asset)
    const again = await h.app.inject({ url: `/api/dashboard/assets/${asset}`, headers: { 'if-none-match': String(res.headers.etag) } })
    t.equal(again.statusCode, 304, `${asset} revalidates with its ETag`)
  }
  t.equal((await h.app.inject({ url: '/api/dashboard/assets/package.json' })).statusCode, 400, 'nothing else is served')
  const doc = (await h.app.inject({ url: '/openapi.json' })).json()
  for (const path of ['/api/analytics/summary/', '/api/export/orders/', '/api/export/failures/']) {
    t.same(doc.paths[path].get.tags, ['analytics'])
    t.same(doc.paths[path].get.security, [{ bearerAuth: [] }])
    t.ok(doc.paths[path].get.responses['403'], `${path} documents 403`)
  }
  t.ok(doc.paths['/api/export/orders/'].get.responses['200'].content['text/csv'], 'the CSV content type is declared')
  t.ok(doc.paths['/api/dashboard/'].get.responses['200'].content['text/html'], 'the HTML content type is declared')
})
