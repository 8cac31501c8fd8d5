/**
 * The live dashboard through the gateway, on the whole platform: the live
 * stream and the order lookup pass the gateway (staff only there too), the
 * stream outlives the gateway's upstream timeout thanks to its heartbeat, and
 * in Chromium (desktop and phone) a real top-up and its signed webhook show
 * up on an open page without a reload.
 */
/// <reference lib="dom" />
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { CHROMIUM_PATH, launchBrowser } from '@topup/service-kit/testing'
import { openSse, type SseEvent } from '../../services/analytics/dist/test/sse.js'
import { startSystem } from './harness.js'

const STAFF = { STAFF_USERNAME: 'staff_live', STAFF_EMAIL: 'staff_live@topup.test', STAFF_PASSWORD: 'Staff-Passw0rd-Live' }
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts')
// a short upstream timeout, so that "the stream outlives it" takes seconds, not the default's 10 s
const UPSTREAM_TIMEOUT_MS = 3000

const mentions = (orderId: string) => (e: SseEvent): boolean => e.event === 'changes' && (JSON.parse(e.data) as { changes: Array<{ order_id: string }> }).changes.some((c) => c.order_id === orderId)

t.test('the live dashboard through the gateway', async (t) => {
  const system = await startSystem(t, {
    env: { auth: STAFF, gateway: { UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS) }, analytics: { LIVE_HEARTBEAT_MS: '1000' } }
  })
  const { http } = system
  if (system.analytics === null) throw new Error('analytics is not running')
  const analyticsDb = system.analytics.db
  const staffLogin = await http<{ access: string }>('POST', '/api/token/', { body: { username: STAFF.STAFF_USERNAME, password: STAFF.STAFF_PASSWORD } })
  t.equal(staffLogin.status, 200)
  const staff = staffLogin.body.access
  const player = await system.register(`fan_${randomBytes(4).toString('hex')}`)
  const { access } = await system.login(player.username)

  /** A top-up and its webhook; resolves once analytics has applied the payment. */
  async function order (status: 'success' | 'failed'): Promise<{ order_id: string, transaction_id: string, appliedAt: number }> {
    const res = await system.topup(access)
    t.equal(res.status, 201)
    const { order_id: orderId, transaction_id: transactionId } = res.body
    await system.waitFor(async () => await system.payments[0]?.db.selectFrom('transactions').select('status').where('transaction_id', '=', transactionId).executeTakeFirst(), { what: 'the transaction at payments' })
    t.equal((await system.pay(transactionId, status)).status, 200, 'the signed webhook')
    await system.waitFor(async () => (await analyticsDb.selectFrom('order_facts').select('status').where('order_id', '=', orderId).executeTakeFirst())?.status === status, { what: 'analytics to apply the payment', intervalMs: 10 })
    return { order_id: orderId, transaction_id: transactionId, appliedAt: Date.now() }
  }

  t.test('GET /api/analytics/live/ and /api/analytics/lookup/ pass the gateway, staff only', async (t) => {
    for (const path of ['/api/analytics/live/', '/api/analytics/lookup/?email=nobody@players.test']) {
      t.equal((await http('GET', path)).status, 401, `${path}: no token`)
      t.equal((await http('GET', path, { token: access })).status, 403, `${path}: a player`)
    }
    const stream = await openSse(`${system.url}/api/analytics/live/`, { authorization: `Bearer ${staff}` })
    t.teardown(() => { stream.close() })
    t.equal(stream.status, 200)
    t.match(stream.headers.get('content-type'), /^text\/event-stream/)
    await stream.next((e) => e.event === 'ready')
    // quiet for longer than the gateway's upstream timeout: the heartbeat keeps it open
    await new Promise((resolve) => setTimeout(resolve, UPSTREAM_TIMEOUT_MS * 2))
    t.notOk(stream.ended(), `still open after ${UPSTREAM_TIMEOUT_MS * 2} ms (gateway UPSTREAM_TIMEOUT_MS ${UPSTREAM_TIMEOUT_MS})`)
    const paid = await order('success')
    const heard = await stream.next(mentions(paid.order_id), 2000)
    t.ok(heard.at - paid.appliedAt < 2000, `the webhook's change arrives through the gateway (${heard.at - paid.appliedAt} ms after analytics applied it)`)

    const found = await http<{ orders: Array<{ order_id: string, user_email: string, timeline: Array<{ kind: string, status: string, provider: string | null }> }> }>('GET', `/api/analytics/lookup/?transaction_id=${paid.transaction_id}`, { token: staff })
    t.equal(found.status, 200)
    t.equal(found.body.orders[0]?.order_id, paid.order_id)
    t.equal(found.body.orders[0]?.user_email, player.email)
    t.match(found.body.orders[0]?.timeline, [{ kind: 'created', status: 'pending' }, { kind: 'payment', status: 'success', provider: /\w+/ }], 'created, then paid, with the provider')
    const bad = await http<{ details: Array<{ field: string }> }>('GET', '/api/analytics/lookup/?order_id=42', { token: staff })
    t.equal(bad.status, 400)
    t.equal(bad.body.details[0]?.field, 'order_id')
  })

  t.test('in Chromium: a webhook shows up on an open page, at 1440×900 and 390×844', async (t) => {
    if (!existsSync(CHROMIUM_PATH)) {
      t.fail(`no Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`)
      return
    }
    const browser = await launchBrowser(t)
    mkdirSync(ARTIFACTS, { recursive: true })
    for (const viewport of [{ name: 'desktop', width: 1440, height: 900 }, { name: 'phone', width: 390, height: 844 }]) {
      const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height } })
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
      await page.goto(`${system.url}/api/dashboard/?preset=today`)
      await page.fill('#username', STAFF.STAFF_USERNAME)
      await page.fill('#password', STAFF.STAFF_PASSWORD)
      await page.click('#signin-submit')
      await page.waitForSelector('body[data-loaded]')
      await page.waitForSelector('#live[data-state="live"]')
      const orders = Number(await page.getAttribute('#total-orders', 'data-value'))
      const revenue = await page.getAttribute('#total-revenue', 'data-value')

      const paid = await order('success')
      await page.waitForFunction((n) => document.getElementById('total-orders')?.dataset.value === String(n), orders + 1, { timeout: 2000 })
      await page.waitForFunction((r) => document.getElementById('total-revenue')?.dataset.value !== r, revenue, { timeout: 2000 })
      t.pass(`${viewport.name}: the paid order is on the page ${Date.now() - paid.appliedAt} ms after analytics applied it, without a reload`)
      const summary = await http<{ totals: { revenue: string } }>('GET', '/api/analytics/summary/?preset=today', { token: staff })
      t.equal(await page.getAttribute('#total-revenue', 'data-value'), summary.body.totals.revenue, `${viewport.name}: the revenue is the summary's`)
      t.equal(new URL(page.url()).search, '?preset=today', 'no reload, the range stays')

      await page.fill('#lookup-query', paid.transaction_id)
      await page.selectOption('#lookup-kind', 'transaction_id')
      await page.click('#lookup-submit')
      await page.waitForSelector(`#lookup-results article[data-order-id="${paid.order_id}"]`)
      t.equal(await page.$$eval('#lookup-results li', (items) => items.length), 2, `${viewport.name}: the lookup shows created and paid`)
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      t.ok(width <= viewport.width, `${viewport.name}: nothing wider than the screen (${width} px)`)
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-system-live-${viewport.name}.png`), fullPage: true })
      t.same(errors, [], `${viewport.name}: no error on the page`)
      await context.close()
    }
  })
})
