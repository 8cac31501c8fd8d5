import { randomBytes } from 'node:crypto'
import t from 'tap'
import { startSystem } from './harness.js'

const STAFF = { STAFF_USERNAME: 'staff_sys', STAFF_EMAIL: 'staff_sys@topup.test', STAFF_PASSWORD: 'Staff-Passw0rd-System' }

t.test('staff see the pipeline\'s orders in the summary and the CSV exports, through the gateway', async (t) => {
  const system = await startSystem(t, { env: { auth: STAFF } })
  const { http } = system
  const staffLogin = await http<{ access: string }>('POST', '/api/token/', { body: { username: STAFF.STAFF_USERNAME, password: STAFF.STAFF_PASSWORD } })
  t.equal(staffLogin.status, 200, 'the bootstrapped staff user logs in')
  const staff = staffLogin.body.access

  const player = await system.register(`fan_${randomBytes(4).toString('hex')}`)
  const { access } = await system.login(player.username)
  const outcomes: Array<'success' | 'failed'> = ['success', 'success', 'failed']
  const orders: Array<{ order_id: string, transaction_id: string, status: 'success' | 'failed' }> = []
  for (const status of outcomes) {
    const res = await system.topup(access)
    t.equal(res.status, 201)
    orders.push({ order_id: res.body.order_id, transaction_id: res.body.transaction_id, status })
  }
  for (const order of orders) {
    await system.waitFor(async () => await system.payments[0]?.db.selectFrom('transactions').select('status').where('transaction_id', '=', order.transaction_id).executeTakeFirst(), { what: 'transaction at payments' })
    t.equal((await system.pay(order.transaction_id, order.status)).status, 200)
  }

  // the read model follows both events; every service agrees
  const analyticsDb = system.analytics?.db
  if (analyticsDb === undefined) throw new Error('analytics is not running')
  await system.waitFor(async () => {
    const rows = await analyticsDb.selectFrom('order_facts').select(['order_id', 'status']).execute()
    return rows.length === 3 && rows.every((r) => r.status !== 'pending') ? rows : undefined
  }, { what: 'analytics to see every settled order' })
  for (const order of orders) {
    const fact = await analyticsDb.selectFrom('order_facts').select(['status', 'amount', 'user_email']).where('order_id', '=', order.order_id).executeTakeFirstOrThrow()
    t.match(fact, { status: order.status, amount: '699.00', user_email: player.email }, `analytics has order ${order.order_id.slice(0, 8)} as ${order.status}`)
    const mine = await http<{ status: string }>('GET', `/api/orders/${order.order_id}`, { token: access })
    t.equal(mine.body.status, order.status, 'and so does orders')
  }

  const today = new Date().toISOString().slice(0, 10)
  const summary = await http<{ totals: { revenue: string, orders: number }, daily_revenue: Array<{ day?: string, date?: string, revenue: string }> }>('GET', `/api/analytics/summary/?start_date=${today}&end_date=${today}`, { token: staff })
  t.equal(summary.status, 200, summary.text)
  t.match(summary.body.totals, { revenue: '1398.00', orders: 3 }, 'two successful 699.00 orders out of three')
  t.equal((await http('GET', '/api/analytics/summary/', { token: access })).status, 403, 'a player is refused the summary')
  t.equal((await http('GET', '/api/analytics/summary/')).status, 401)

  // CSV through the gateway: streamed, with its headers intact
  const csv = await fetch(`${system.url}/api/export/orders/`, { headers: { authorization: `Bearer ${staff}` } })
  t.equal(csv.status, 200)
  t.match(csv.headers.get('content-type'), /^text\/csv/)
  t.match(csv.headers.get('content-disposition'), /attachment; filename="orders_all\.csv"/)
  const lines = (await csv.text()).trim().split(/\r?\n/)
  t.equal(lines.length, 4, 'a header and one row per order')
  t.match(lines[0], /order_id.*transaction_id.*user_email.*game.*product.*amount.*currency.*status.*created_at/)
  const failures = await fetch(`${system.url}/api/export/failures/`, { headers: { authorization: `Bearer ${staff}` } })
  t.match(failures.headers.get('content-disposition'), /failed_payments_all\.csv/)
  t.equal((await failures.text()).trim().split(/\r?\n/).length, 2, 'a header and the one failed order')
  t.equal((await fetch(`${system.url}/api/export/orders/`, { headers: { authorization: `Bearer ${access}` } })).status, 403, 'a player is refused the export')

  // the dashboard page through the gateway keeps its strict CSP
  const page = await fetch(`${system.url}/api/dashboard/`)
  t.equal(page.status, 200)
  const csp = page.headers.get('content-security-policy') ?? ''
  t.match(csp, /default-src 'self'/)
  t.match(csp, /script-src 'self'/)
  t.notMatch(csp, /unsafe-inline/)
  t.notMatch(await page.text(), /https?:\/\/(?!127\.0\.0\.1)[a-z]/i, 'nothing from a CDN')
})
