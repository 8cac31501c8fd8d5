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

const VIEWPORTS = [{ name: 'desktop', width: 1440, height: 900 }, { name: 'phone', width: 390, height: 844 }] as const

/** The chart on a canvas, as the page drew it. */
async function chartOf (page: Page, id: string): Promise<{ type: string, labels: string[], ticks: string[], datasets: number, width: number, painted: number } | null> {
  return await page.evaluate((id) => {
    const canvas = document.getElementById(id) as HTMLCanvasElement
    type C = { config: { type: string }, data: { labels: string[], datasets: unknown[] }, scales: { x: { ticks: Array<{ label: string | string[] }> } } }
    const chart = (window as unknown as { Chart: { getChart: (c: HTMLCanvasElement) => C | undefined } }).Chart.getChart(canvas)
    if (chart === undefined) return null
    const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray()
    let painted = 0
    for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted++
    return { type: chart.config.type, labels: chart.data.labels, ticks: chart.scales.x.ticks.map((t) => String(t.label)), datasets: chart.data.datasets.length, width: canvas.width, painted }
  }, id)
}

t.test('in a real browser, at 1440×900 and 390×844: staff see live figures, presets, comparisons, honest states and the order lookup; a player sees nothing', async (t) => {
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
  // one big order: ₹1,23,45,678.00 must fit a phone's card
  const big = orderCreated({ created_at: '2026-03-14T10:00:00.000Z', amount: '12345678.00', user_email: 'whale@players.test' })
  await h.deliver(big)
  await h.deliver(paymentChanged(big, 'success'))
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
  const summaryOf = async (query: string) => (await h.app.inject({ url: `/api/analytics/summary/${query}`, headers: h.staff() })).json()

  if (!existsSync(CHROMIUM_PATH)) {
    t.fail(`no Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH; tests never download a browser`)
    return
  }
  const browser = await launchBrowser(t)
  mkdirSync(ARTIFACTS, { recursive: true })

  for (const viewport of VIEWPORTS) {
    t.test(`staff, ${viewport.name} ${viewport.width}×${viewport.height}`, async (t) => {
      const shot = async (page: Page, name: string, fullPage = true) => { await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}-${viewport.name}.png`), fullPage }) }
      const { page, problems } = await newPage(browser, { width: viewport.width, height: viewport.height })
      const requests: string[] = []
      page.on('request', (r) => { requests.push(new URL(r.url()).pathname) })
      await page.goto(`${base}/api/dashboard/`)
      t.ok(await page.isVisible('#signin-form'), 'the sign-in form first')
      t.notOk(await page.isVisible('#dashboard'), 'no dashboard without a token')
      t.notOk(requests.some((p) => p.startsWith('/api/analytics') || p.startsWith('/api/export')), 'no data requested without a token')
      await shot(page, 'signin')

      // skeletons while the figures load (the summary held back a moment)
      let release: () => void = () => {}
      const held = new Promise<void>((resolve) => { release = resolve })
      await page.route('**/api/analytics/summary/**', async (route) => { await held; await route.continue() })
      await signIn(page, 'staff')
      await page.waitForSelector('#dashboard[data-state="loading"]')
      const skeleton = await page.$eval('#total-revenue', (el) => ({ text: el.textContent, background: getComputedStyle(el).backgroundColor, color: getComputedStyle(el).color }))
      t.equal(skeleton.text, '–', 'no figure while loading')
      t.not(skeleton.background, 'rgba(0, 0, 0, 0)', `the figure is a grey bar while loading (${skeleton.background})`)
      t.ok(await page.$$eval('#daily-body tr[data-skeleton]', (rows) => rows.length) > 0, 'placeholder rows in the tables')
      await shot(page, 'loading', false)
      release()
      await page.waitForSelector('body[data-loaded]')
      await page.unroute('**/api/analytics/summary/**')

      const expected = await summaryOf('')
      t.equal(await page.getAttribute('body', 'data-loaded'), `${expected.start_date as string}..${expected.end_date as string}`, 'the default range: last 30 days')
      t.equal(await page.getAttribute('#total-revenue', 'data-value'), expected.totals.revenue, 'total revenue')
      t.equal(await page.getAttribute('#average-order-value', 'data-value'), expected.totals.average_order_value, 'average order value')
      t.equal(await page.textContent('#success-rate'), `${expected.totals.success_rate as string}%`)
      t.equal(await page.getAttribute('#change-revenue', 'data-value'), expected.change.revenue, 'revenue % against the previous period')
      t.match(await page.textContent('#change-revenue'), /^[▲▼=] [+-]?\d+\.\d{2}% vs previous period$/)
      t.equal(await page.getAttribute('#failed-payments', 'data-value'), String(expected.totals.failed_orders), 'failed payments of the chosen range')
      t.match(await page.textContent('#status'), new RegExp(`${expected.start_date as string} – ${expected.end_date as string} · days in UTC · compared with ${expected.previous.start_date as string}`))
      await page.waitForSelector('#live[data-state="live"]')
      t.pass('the live indicator says Live')

      // amounts: in full on a desktop, compact Indian numbering on a phone, never cut off
      const revenueText = await page.textContent('#total-revenue') ?? ''
      const revenueTitle = await page.getAttribute('#total-revenue', 'title') ?? ''
      t.match(revenueTitle, /^₹1,2\d,\d\d,\d\d\d\.\d\d$/, `the full amount in Indian grouping (${revenueTitle})`)
      if (viewport.name === 'phone') t.match(revenueText, /^₹1\.2\d\s?Cr$/, `compact on a phone: ${revenueText}`)
      else t.equal(revenueText, revenueTitle, 'in full on a desktop')
      const clipped = await page.$$eval('[data-figure]', (els) => els.filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => `${el.id}: ${el.textContent ?? ''}`))
      t.same(clipped, [], 'no figure cut off')

      const daily = await chartOf(page, 'daily-chart')
      t.match(daily, { type: 'line', datasets: 2 })
      t.equal(daily?.labels.length, 30)
      t.ok((daily?.ticks.length ?? 0) > 1 && daily?.ticks.every((l) => /^\d{4}-\d{2}-\d{2}$/.test(l)), `x-axis labels are YYYY-MM-DD (${daily?.ticks.slice(0, 3).join(', ') ?? ''} …)`)
      t.ok((daily?.painted ?? 0) > 500, 'the daily chart is drawn')
      t.match(await chartOf(page, 'games-chart'), { type: 'bar', labels: expected.revenue_by_game.map((g: { game_name: string }) => g.game_name) })

      // tooltips: index mode, anywhere in the day's column (here near the top, far from the point), with the currency and paise
      await page.locator('#daily-chart').scrollIntoViewIfNeeded()
      const area = await page.evaluate(() => {
        const canvas = document.getElementById('daily-chart') as HTMLCanvasElement
        const chart = (window as unknown as { Chart: { getChart: (c: HTMLCanvasElement) => { chartArea: { left: number, right: number, top: number } } } }).Chart.getChart(canvas)
        const rect = canvas.getBoundingClientRect()
        return { x: rect.left + (chart.chartArea.left + chart.chartArea.right) / 2, y: rect.top + chart.chartArea.top + 4 }
      })
      await page.mouse.move(area.x, area.y)
      const tip = await page.evaluate(() => {
        const canvas = document.getElementById('daily-chart') as HTMLCanvasElement
        const chart = (window as unknown as { Chart: { getChart: (c: HTMLCanvasElement) => { tooltip: { opacity: number, title: string[], body: Array<{ lines: string[] }> } } } }).Chart.getChart(canvas)
        return { opacity: chart.tooltip.opacity, title: chart.tooltip.title, lines: chart.tooltip.body.flatMap((b) => b.lines) }
      })
      t.equal(tip.opacity, 1, 'a tooltip without touching the point')
      t.match(tip.title[0], /^\d{4}-\d{2}-\d{2}$/, 'titled with the ISO date')
      t.equal(tip.lines.length, 2, `both series of that day: ${tip.lines.join(' | ')}`)
      t.match(tip.lines[0], /^Revenue \(INR\): ₹[\d,]+\.\d{2}$/, 'the revenue with the currency and two decimals')
      t.match(tip.lines[1], /^Orders: \d+$/)
      await shot(page, 'tooltip', false)
      await shot(page, 'figures')

      // date inputs: ISO text, never the browser's mm/dd/yyyy
      t.same(await page.$$eval('#start-date, #end-date', (els) => els.map((el) => ({ type: (el as HTMLInputElement).type, placeholder: (el as HTMLInputElement).placeholder, value: (el as HTMLInputElement).value }))),
        [{ type: 'text', placeholder: 'YYYY-MM-DD', value: expected.start_date }, { type: 'text', placeholder: 'YYYY-MM-DD', value: expected.end_date }])

      // presets
      for (const [preset, range, label] of [
        ['last_7_days', '2026-03-09..2026-03-15', 'Failed payments'],
        ['month_to_date', '2026-03-01..2026-03-15', 'Failed payments, March 2026'],
        ['last_month', '2026-02-01..2026-02-28', 'Failed payments, February 2026'],
        ['today', '2026-03-15..2026-03-15', 'Failed payments']
      ] as const) {
        await page.click(`[data-preset="${preset}"]`)
        await page.waitForSelector(`body[data-loaded="${range}"]`)
        t.equal(new URL(page.url()).search, `?preset=${preset}`, `${preset}: in the address`)
        t.equal(await page.getAttribute(`[data-preset="${preset}"]`, 'aria-pressed'), 'true', `${preset}: shown as chosen`)
        t.equal(await page.textContent('#failed-label'), label, `${preset}: the failed payments card says which period`)
        const figures = await summaryOf(`?preset=${preset}`)
        t.equal(await page.getAttribute('#failed-payments', 'data-value'), String(figures.totals.failed_orders), `${preset}: failed payments of the range`)
        t.equal(await page.getAttribute('#total-revenue', 'data-value'), figures.totals.revenue, `${preset}: revenue`)
      }
      await shot(page, 'preset-last-month')

      // a typed range: the figures and the address follow; a malformed date is refused on the page
      await page.fill('#start-date', '03/01/2026')
      await page.click('#apply')
      await page.waitForSelector('#error:not([hidden])')
      t.match(await page.textContent('#error-text'), /From must be a date as YYYY-MM-DD/)
      await page.fill('#start-date', '2026-02-20')
      await page.fill('#end-date', '2026-03-01')
      await page.click('#apply')
      await page.waitForSelector('body[data-loaded="2026-02-20..2026-03-01"]')
      t.equal(new URL(page.url()).search, '?start_date=2026-02-20&end_date=2026-03-01', 'the range is in the address')
      t.ok(await page.isHidden('#error'), 'the error is gone')
      const narrow = await summaryOf('?start_date=2026-02-20&end_date=2026-03-01')
      t.equal(await page.getAttribute('#total-revenue', 'data-value'), narrow.totals.revenue)
      const readDaily = async () => await page.$$eval('#daily-body tr', (rows) => rows.map((r) => {
        const cells = [...r.querySelectorAll('td')]
        return { date: cells[0]?.textContent, orders: Number(cells[1]?.dataset.value), successful_orders: Number(cells[2]?.dataset.value), revenue: cells[3]?.dataset.value }
      }))
      t.same(await readDaily(), [...narrow.daily_revenue].reverse(), 'the daily table follows the range')
      const products = await page.$$eval('#products-body tr', (rows) => rows.map((r) => r.querySelector('td')?.dataset.value))
      t.same(products, narrow.top_products.map((p: { product_name: string }) => p.product_name), 'top products')

      // downloads of the range on screen
      for (const [button, filename, expectedRows] of [
        ['#download-orders', 'orders_2026-02-20_2026-03-01.csv', narrow.totals.orders],
        ['#download-failures', 'failed_payments_2026-02-20_2026-03-01.csv', narrow.totals.failed_orders]
      ] as const) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)])
        t.equal(download.suggestedFilename(), filename)
        const lines = readFileSync(await download.path(), 'utf8').split('\r\n').filter((l) => l !== '')
        t.equal(lines.length - 1, expectedRows, `${filename}: one row per order of the range`)
      }

      // an empty range says so, and draws no 0–1 axes
      await page.fill('#start-date', '2020-01-01')
      await page.fill('#end-date', '2020-01-07')
      await page.click('#apply')
      await page.waitForSelector('body[data-loaded="2020-01-01..2020-01-07"]')
      t.match(await page.textContent('#empty'), /No orders between 2020-01-01 and 2020-01-07/)
      t.equal(await chartOf(page, 'daily-chart'), null, 'no empty chart drawn')
      t.ok(await page.isVisible('#daily-empty'), 'the chart\'s place says there is nothing')
      t.equal(await page.textContent('#average-order-value'), '–', 'no average without orders')
      await shot(page, 'empty')

      // an error clears the figures and says what to do; Retry recovers
      await page.click('[data-preset="last_30_days"]')
      await page.waitForSelector('body[data-loaded="2026-02-14..2026-03-15"]')
      await page.route('**/api/analytics/summary/**', async (route) => await route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'The service is temporarily unavailable; retry in a moment.' }) }))
      await page.click('[data-preset="last_7_days"]')
      await page.waitForSelector('#error:not([hidden])')
      t.match(await page.textContent('#error-text'), /unavailable for a moment\. Press Retry/)
      t.equal(await page.textContent('#total-revenue'), '–', 'no old total left')
      t.equal(await chartOf(page, 'daily-chart'), null, 'no old chart left')
      t.equal(await page.$$eval('#daily-body tr', (rows) => rows.length), 0, 'no old table left')
      await shot(page, 'error')
      await page.unroute('**/api/analytics/summary/**')
      await page.click('#retry')
      await page.waitForSelector('body[data-loaded="2026-03-09..2026-03-15"]')
      t.ok(await page.isHidden('#error'), 'Retry recovers')

      // live: an order and its payment applied to the read model show up without a reload, within 2 s
      const before = Number(await page.getAttribute('#total-orders', 'data-value'))
      const beforeRevenue = await page.getAttribute('#total-revenue', 'data-value') ?? ''
      const loadsBefore = Number(await page.getAttribute('body', 'data-loads'))
      const fresh = orderCreated({ created_at: '2026-03-15T09:00:00.000Z', amount: '1234.50', user_email: `live-${viewport.name}@players.test` })
      let applied = Date.now()
      await h.deliver(fresh)
      await page.waitForFunction((n) => document.getElementById('total-orders')?.dataset.value === String(n), before + 1, { timeout: 2000 })
      t.pass(`the new order is on the page ${Date.now() - applied} ms after it was applied`)
      applied = Date.now()
      await h.deliver(paymentChanged(fresh, 'success', '2026-03-15T09:01:00.000Z'))
      await page.waitForFunction((r) => document.getElementById('total-revenue')?.dataset.value !== r, beforeRevenue, { timeout: 2000 })
      t.pass(`its payment is on the page ${Date.now() - applied} ms after it was applied`)
      const liveFigures = await summaryOf('?preset=last_7_days')
      t.equal(await page.getAttribute('#total-revenue', 'data-value'), liveFigures.totals.revenue, 'the revenue now includes it')
      t.ok(Number(await page.getAttribute('body', 'data-loads')) - loadsBefore <= 4, 'a reload per burst, not per event')
      t.equal(new URL(page.url()).search, '?preset=last_7_days', 'the range stays')
      await shot(page, 'live')

      // order lookup: by each key, with its timeline; the timeline follows live
      await page.locator('#lookup').scrollIntoViewIfNeeded()
      await page.selectOption('#lookup-kind', 'order_id')
      await page.fill('#lookup-query', fresh.data.order_id)
      await page.click('#lookup-submit')
      await page.waitForSelector(`#lookup-results article[data-order-id="${fresh.data.order_id}"]`)
      const timeline = async () => await page.$$eval('#lookup-results article li', (items) => items.map((li) => `${li.dataset.kind ?? ''}: ${li.textContent ?? ''}`))
      const steps = await timeline()
      t.equal(steps.length, 2, 'created and paid')
      t.match(steps[0], /^created: 2026-03-15 09:00:00 UTC.*Order created/)
      t.match(steps[1], /^payment: 2026-03-15 09:01:00 UTC.*Payment success.*via sandbox/)
      t.match(await page.textContent('#lookup-results article'), /₹1,234\.50/)
      await page.selectOption('#lookup-kind', 'transaction_id')
      await page.fill('#lookup-query', fresh.data.transaction_id)
      await page.click('#lookup-submit')
      await page.waitForFunction(() => document.getElementById('lookup-status')?.textContent?.startsWith('1 order') === true)
      t.equal(await page.getAttribute('#lookup-results article', 'data-order-id'), fresh.data.order_id, 'by transaction id')
      await page.fill('#lookup-query', `LIVE-${viewport.name}@players.test`)
      t.equal(await page.inputValue('#lookup-kind'), 'email', 'an e-mail is recognised')
      await page.click('#lookup-submit')
      await page.waitForFunction(() => document.getElementById('lookup-status')?.textContent?.startsWith('1 order') === true)
      t.equal(await page.getAttribute('#lookup-results article', 'data-order-id'), fresh.data.order_id, 'by e-mail')
      await h.deliver(paymentChanged(fresh, 'failed', '2026-03-15T09:30:00.000Z'))
      await page.waitForFunction(() => document.querySelectorAll('#lookup-results article li').length === 3, undefined, { timeout: 2000 })
      t.match((await timeline())[2], /Payment failed.*ignored: the order already had a result/, 'a late contradicting result appears, marked ignored')
      await page.selectOption('#lookup-kind', 'order_id')
      await page.fill('#lookup-query', 'not-an-id')
      await page.click('#lookup-submit')
      await page.waitForFunction(() => document.getElementById('lookup-status')?.textContent?.includes('must be a UUID') === true)
      t.pass('a bad id: the field and the reason')
      await page.fill('#lookup-query', fresh.data.order_id)
      await page.click('#lookup-submit')
      await page.waitForSelector(`#lookup-results article[data-order-id="${fresh.data.order_id}"]`)
      await page.locator('#lookup').screenshot({ path: join(ARTIFACTS, `dashboard-lookup-${viewport.name}.png`) })

      // the whole page fits the screen
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      t.ok(width <= viewport.width, `nothing wider than the screen (page width ${width} px at ${viewport.width} px)`)
      const overflowing = await page.evaluate((w) => [...document.querySelectorAll('#dashboard *')]
        .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > w + 1 && getComputedStyle(el).position !== 'absolute' && el.closest('.overflow-x-auto, .overflow-auto') === null })
        .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className.toString().slice(0, 30)}`).slice(0, 5), viewport.width)
      t.same(overflowing, [], 'no element sticks out of the screen')
      await shot(page, 'full')

      // reload: still signed in (sessionStorage), same range from the address
      await page.reload()
      await page.waitForSelector('body[data-loaded="2026-03-09..2026-03-15"]')
      t.pass('a reload keeps the session and the range')

      // the ones this test caused: the 503 of the summary it faked, the 400 of the bad id it searched for (and Chromium's console line for each)
      const expectedHttp = (line: string): boolean => (line.startsWith('503 GET') && line.includes('/api/analytics/summary/')) || (line.startsWith('400 GET') && line.includes('/api/analytics/lookup/?order_id=not-an-id'))
      const expectedConsole = (line: string): boolean => /Failed to load resource: the server responded with a status of (400|503)/.test(line)
      t.equal(problems.http.filter(expectedHttp).length, 2, 'the faked 503 and the bad search\'s 400 were seen')
      t.same({ console: problems.console.filter((l) => !expectedConsole(l)), failed: problems.failed.filter((l) => !l.includes('/api/analytics/live/')), http: problems.http.filter((l) => !expectedHttp(l)), csp: problems.csp },
        { console: [], failed: [], http: [], csp: [] }, 'no CSP violation, console error, failed request or unexpected HTTP error')

      // an expired access token is refreshed once, transparently
      await page.evaluate((expired) => { sessionStorage.setItem('topup.analytics.access', expired) }, h.issuer.token({ sub: STAFF_ID, staff: true }, { expiresInSeconds: -60 }))
      await page.click('[data-preset="last_30_days"]')
      await page.waitForSelector('body[data-loaded="2026-02-14..2026-03-15"]')
      t.ok(requests.includes('/api/token/refresh/'), 'the refresh endpoint was called')
      t.ok(await page.isVisible('#dashboard'), 'still on the dashboard after the refresh')

      await page.click('#sign-out')
      t.ok(await page.isVisible('#signin-form'), 'signed out: the form again')
      t.notOk(await page.isVisible('#dashboard'))
      t.equal(await page.textContent('#total-revenue'), '–', 'no figure left behind')
    })
  }

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
