/**
 * Takes the README's screenshot of the dashboard: signs in as staff in a
 * headless Chromium (Debian's, never a downloaded one) and saves the page.
 * Run against a running system with some history (npm start, then npm run demo):
 *
 *   npm run screenshot
 *
 *   GATEWAY_URL                  default http://127.0.0.1:8080
 *   DEMO_STAFF_USERNAME / _PASSWORD (else STAFF_USERNAME / STAFF_PASSWORD)  required
 *   DAYS                         the date range shown, ending today (UTC); default 60
 *   OUT                          default docs/dashboard.png
 *   FULL_PAGE=1                  the whole page (default: the 1280×900 window down to the end of
 *                                the top products / active users tables)
 *   CHROMIUM_PATH                default /usr/bin/chromium
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { chromium } from 'playwright-core'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '@topup/service-kit/testing'
import { ROOT } from './common/paths.js'
import { baseUrl, positiveInt, ScriptError } from './common/settings.js'
import { GATEWAY, localUrl } from './services.js'
import { isoDay } from './demo/history.js'

const DAY_MS = 86_400_000

async function main (): Promise<void> {
  const env = process.env
  const gateway = baseUrl(env, 'GATEWAY_URL', localUrl(GATEWAY.port))
  const username = env.DEMO_STAFF_USERNAME ?? env.STAFF_USERNAME
  const password = env.DEMO_STAFF_PASSWORD ?? env.STAFF_PASSWORD
  if (username === undefined || password === undefined) throw new ScriptError('set STAFF_USERNAME and STAFF_PASSWORD (or DEMO_STAFF_*) to a staff account')
  const days = positiveInt(env, 'DAYS', 60, 366)
  const out = resolve(ROOT, env.OUT ?? 'docs/dashboard.png')
  const end = isoDay(Date.now())
  const start = isoDay(Date.now() - (days - 1) * DAY_MS)

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true })
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()) })
    await page.goto(`${gateway}/api/dashboard/?start_date=${start}&end_date=${end}`)
    await page.fill('#username', username)
    await page.fill('#password', password)
    await page.click('#signin-submit')
    await page.waitForSelector(`body[data-loaded="${start}..${end}"]`, { timeout: 20_000 })
    // let Chart.js finish its animations
    await page.waitForTimeout(1500)
    mkdirSync(dirname(out), { recursive: true })
    if (env.FULL_PAGE === '1') {
      await page.screenshot({ path: out, fullPage: true })
    } else {
      // the window, extended down to the end of the top products / active users row
      const bottom = await page.$eval('#products-body', (body) => {
        const row = body.closest('.grid') ?? body
        // (runs in the page: its window is the global there)
        return Math.ceil(row.getBoundingClientRect().bottom + (globalThis as unknown as { scrollY: number }).scrollY)
      })
      await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.max(900, bottom + 12) } })
    }
    const revenue = await page.getAttribute('#total-revenue', 'data-value')
    process.stdout.write(`screenshot: ${out} (${start} … ${end}, revenue ${revenue ?? '?'})\n`)
    if (problems.length > 0) process.stderr.write(`screenshot: the page reported:\n  ${problems.join('\n  ')}\n`)
  } catch (err) {
    process.stderr.write(`screenshot: ${(err as Error).message}\n(is the system running at ${gateway}, and the staff login right?)\n`)
    process.exitCode = 1
  } finally {
    await browser.close()
  }
}

main().catch((err: unknown) => {
  if (!(err instanceof ScriptError)) throw err
  process.stderr.write(`screenshot: ${err.message}\n`)
  process.exit(2)
})
