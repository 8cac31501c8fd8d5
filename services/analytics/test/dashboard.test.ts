/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import t from 'tap'
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { CHROMIUM_PATH, launchBrowser } from '@topup/service-kit/testing'
import { loadDashboardAssets, serviceRoot } from '../src/routes/dashboard/index.js'
import { build, orderCreated, paymentChanged, STAFF_ID, PLAYER_ID, type Harness } from './helper.js'

const NOW = new Date('2026-03-15T09:30:00.000Z')
const ARTIFACTS = join(serviceRoot(), '..', '..', 'test-artifacts')

t.test('the service refuses to start without its built CSS, and says how to build it', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'analytics-'))
  mkdirSync(join(root, 'public'))
  t.throws(() => loadDashboardAssets(root), /dashboard's CSS is missing .*npm run build:css/)
})

/** Orders on a few days: 3 games, 4 products, 3 users, every status. */
async function seed (h: Harness): Promise<void> {
  const games = [{ id: 1, code: 'coc123', name: 'Clash of Clans' }, { id: 2, code: 'pubg', name: 'PUBG Mobile' }, { id: 3, code: 'ff', name: 'Free Fire' }]
  const products = [{ id: 4, name: 'Gems 500' }, { id: 5, name: 'UC 325' }, { id: 6, name: 'Diamonds 310' }, { id: 7, name: 'UC 660' }, { id: 8, name: 'Gems 1200' }, { id: 9, name: 'Diamonds 100' }]
  const users = ['asha@players.test', 'ben@players.test', 'chen@players.test']
  let n = 0
  for (let day = 0; day < 40; day++) {
    for (let k = 0; k < (day % 4) + 1; k++) {
      n++
      const product = products[n % products.length] ?? products[0]!
      const game = games[[4, 8].includes(product.id) ? 0 : [6, 9].includes(product.id) ? 2 : 1] ?? games[0]!
      const created = new Date(NOW.getTime() - day * 86_400_000 - k * 3_600_000).toISOString()
      const order = orderCreated({ created_at: created, game, product, user_id: `00000000-0000-4000-8000-00000000000${n % 3}`, user_email: users[n % 3] ?? '', amount: `${(199 + (n * 37) % 700)}.00` })
      await h.deliver(order)
      if (n % 5 !== 0) await h.deliver(paymentChanged(order, n % 7 === 0 ? 'failed' : 'success'))
    }
  }
}

interface Problems { console: string[], failed: string[], http: string[], csp: string[] }

function watch (page: Page): Problems {
  const problems: Problems = { console: [], failed: [], http: [], csp: [] }
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.console.push(`${m.type()}: ${m.text()}`) })
  page.on('pageerror', (e) => { problems.console.push(`pageerror: ${e.message}`) })
  page.on('requestfailed', (r) => { problems.failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText ?? ''}`) })
  page.on('response', (r) => { if (r.status() >= 400) problems.http.push(`${r.status()} ${r.request().method()} ${r.url()}`) })
  page.on('console', (m) => { if (m.text().startsWith('csp-violation')) problems.csp.push(m.text()) })
  return problems
}

async function newPage (browser: Browser, viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext, page: Page, problems: Problems }> {
  const context = await browser.newContext({ acceptDownloads: true, viewport })
  // reports any Content-Security-Policy violation of the page as a console line
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => { console.log(`csp-violation ${e.violatedDirective} ${e.blockedURI}`) })
  })
  const page = await context.newPage()
  return { context, page, problems: watch(page) }
}

async function signIn (page: Page, username: string): Promise<void> {
  await page.fill('#username', username)
  await page.fill('#password', `${username}-password`)
  await page.click('#signin-submit')
}

t.test('in a real browser: staff sign in, see the figures, filter, download; a player sees nothing', async (t) => {
  const h = await build(t, {
    now: () => NOW,
    // the gateway's token routes, same origin (a stand-in for the auth service)
    extend (app, issuer) {
      const accounts: Record<string, { sub: string, staff: boolean }> = { staff: { sub: STAFF_ID, staff: true }, player: { sub: PLAYER_ID, staff: false } }
      const pair = (username: string) => {
        const account = accounts[username] ?? { sub: PLAYER_ID, staff: false }
        return { access: issuer.token({ sub: account.sub, username, email: `${username}@topup.test`, staff: account.staff }), refresh: `refresh-${username}` }
      }
      app.post('/api/token/', async (request, reply) => {
        const { username, password } = request.body as { username?: string, password?: string }
        if (username === undefined || accounts[username] === undefined || password !== `${username}-password`) return await reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'Wrong username or password.' })
        return pair(username)
      })
      app.post('/api/token/refresh/', async (request, reply) => {
        const { refresh } = request.body as { refresh?: string }
        if (refresh?.startsWith('refresh-') !== true) return await reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'Invalid refresh token.' })
        return pair(refresh.slice('refresh-'.length))
      })
      app.post('/api/logout/', async (_request, reply) => await reply.code(204).send())
    }
  })
  await seed(h)
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
  const summaryOf = async (query: string) => (await h.app.inject({ url: `/api/analytics/summary/${query}`, headers: h.staff() })).json()

  if (!existsSync(CHROMIUM_PATH)) {
    t.fail(`no Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH; tests never download a browser`)
    return
  }
  const browser = await launchBrowser(t)
  mkdirSync(ARTIFACTS, { recursive: true })

  t.test('staff', async (t) => {
    const { page, problems } = await newPage(browser)
    const requests: string[] = []
    page.on('request', (r) => { requests.push(new URL(r.url()).pathname) })
    await page.goto(`${base}/api/dashboard/`)
    t.ok(await page.isVisible('#signin-form'), 'the sign-in form first')
    t.notOk(await page.isVisible('#dashboard'), 'no dashboard without a token')
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-signin.png') })
    t.notOk(requests.some((p) => p.startsWith('/api/analytics') || p.startsWith('/api/export')), 'no data requested without a token')

    await signIn(page, 'staff')
    await page.waitForSelector('body[data-loaded]')
    const expected = await summaryOf('')
    t.equal(await page.getAttribute('body', 'data-loaded'), `${expected.start_date as string}..${expected.end_date as string}`, 'the default range: last 30 days')
    t.equal(await page.getAttribute('#total-revenue', 'data-value'), expected.totals.revenue, 'total revenue')
    t.equal(await page.textContent('#failed-this-month'), String(expected.failed_payments.this_month.count), 'failed payments this month')
    t.equal(await page.textContent('#success-rate'), `${expected.totals.success_rate as string}%`)

    const charts = await page.evaluate(() => ['daily-chart', 'games-chart'].map((id) => {
      const canvas = document.getElementById(id) as HTMLCanvasElement
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray()
      let painted = 0
      for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted++
      const chart = (window as unknown as { Chart: { getChart: (c: HTMLCanvasElement) => { config: { type: string }, data: { labels: unknown[] } } | undefined } }).Chart.getChart(canvas)
      return { id, width: canvas.width, height: canvas.height, painted, type: chart?.config.type, labels: chart?.data.labels.length }
    }))
    t.match(charts, [{ id: 'daily-chart', type: 'line', labels: 30 }, { id: 'games-chart', type: 'bar', labels: expected.revenue_by_game.length }])
    for (const c of charts) t.ok(c.width > 200 && c.height > 100 && c.painted > 500, `${c.id} is drawn (${c.width}x${c.height}, ${c.painted} painted pixels)`)

    const readDaily = async () => await page.$$eval('#daily-body tr', (rows) => rows.map((r) => {
      const cells = [...r.querySelectorAll('td')]
      return { date: cells[0]?.textContent, orders: Number(cells[1]?.dataset.value), successful_orders: Number(cells[2]?.dataset.value), revenue: cells[3]?.dataset.value }
    }))
    t.same(await readDaily(), [...expected.daily_revenue].reverse(), 'the daily revenue table is the summary, day by day')
    const products = await page.$$eval('#products-body tr', (rows) => rows.map((r) => r.querySelector('td')?.textContent))
    t.same(products, expected.top_products.map((p: { product_name: string }) => p.product_name), 'top products')
    const users = await page.$$eval('#users-body tr', (rows) => rows.map((r) => r.querySelector('td')?.textContent))
    t.same(users, expected.top_users.map((u: { user_email: string }) => u.user_email), 'most active users')
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })

    // a new range: the figures and the address follow
    await page.fill('#start-date', '2026-02-20')
    await page.fill('#end-date', '2026-03-01')
    await page.click('#apply')
    await page.waitForSelector('body[data-loaded="2026-02-20..2026-03-01"]')
    t.equal(new URL(page.url()).search, '?start_date=2026-02-20&end_date=2026-03-01', 'the range is in the address')
    const narrow = await summaryOf('?start_date=2026-02-20&end_date=2026-03-01')
    t.not(narrow.totals.revenue, expected.totals.revenue, 'a different range, different figures')
    t.equal(await page.getAttribute('#total-revenue', 'data-value'), narrow.totals.revenue)
    t.same(await readDaily(), [...narrow.daily_revenue].reverse(), 'the table follows the range')

    // downloads: fetched with the token, saved as files
    for (const [button, filename, expectedRows] of [
      ['#download-orders', 'all_orders.csv', narrow.totals.orders],
      ['#download-failures', 'failed_payments.csv', narrow.totals.failed_orders]
    ] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)])
      t.equal(download.suggestedFilename(), filename)
      const text = readFileSync(await download.path(), 'utf8')
      const lines = text.split('\r\n').filter((l) => l !== '')
      t.equal(lines[0], '"order_id","transaction_id","user_email","game","product","amount","currency","status","created_at"')
      t.equal(lines.length - 1, expectedRows, `${filename}: one row per order of the range`)
    }

    // reload: still signed in (sessionStorage), same range from the address
    await page.reload()
    await page.waitForSelector('body[data-loaded="2026-02-20..2026-03-01"]')
    t.pass('a reload keeps the session and the range')

    // on a phone: nothing wider than the screen
    await page.setViewportSize({ width: 390, height: 844 })
    await page.waitForTimeout(200)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth)
    t.ok(overflow <= 390, `readable on a phone (page width ${overflow} px at 390 px)`)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-mobile.png'), fullPage: true })

    t.same(problems, { console: [], failed: [], http: [], csp: [] }, 'no CSP violation, console error, failed request or HTTP error')

    // an expired access token is refreshed once, transparently
    await page.evaluate((expired) => { sessionStorage.setItem('topup.analytics.access', expired) }, h.issuer.token({ sub: STAFF_ID, staff: true }, { expiresInSeconds: -60 }))
    await page.click('#apply')
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.includes('updated') === true && !document.querySelector('#dashboard')?.hasAttribute('hidden'))
    await page.waitForSelector('body[data-loaded="2026-02-20..2026-03-01"]')
    t.ok(requests.includes('/api/token/refresh/'), 'the refresh endpoint was called')
    t.ok(await page.isVisible('#dashboard'), 'still on the dashboard after the refresh')
    t.same(problems.http.filter((line) => !line.startsWith('401 GET') || !line.includes('/api/analytics/summary/')), [], 'only the expected 401 of the expired token')

    await page.click('#sign-out')
    t.ok(await page.isVisible('#signin-form'), 'signed out: the form again')
    t.notOk(await page.isVisible('#dashboard'))
  })

  t.test('a player is told they lack access and sees no data', async (t) => {
    const { page, problems } = await newPage(browser)
    const requests: string[] = []
    page.on('request', (r) => { requests.push(new URL(r.url()).pathname) })
    await page.goto(`${base}/api/dashboard/`)
    await signIn(page, 'player')
    await page.waitForSelector('#access-denied:not([hidden])')
    t.match(await page.textContent('#access-denied'), /not a staff account/)
    t.notOk(await page.isVisible('#dashboard'), 'no dashboard')
    t.equal(await page.textContent('#total-revenue'), '–', 'no figure on the page')
    t.notOk(requests.some((p) => p.startsWith('/api/analytics') || p.startsWith('/api/export')), 'no data requested')
    t.equal(await page.evaluate(() => sessionStorage.length), 0, 'the player token is not kept')
    t.same(problems, { console: [], failed: [], http: [], csp: [] })
  })
})
