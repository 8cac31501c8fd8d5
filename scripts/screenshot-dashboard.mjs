#!/usr/bin/env node
// Takes the README's screenshot of the dashboard: signs in as staff in a
// headless Chromium (Debian's, never a downloaded one) and saves the page.
// Run against a running system with some history (npm start, then npm run demo).
//
//   GATEWAY_URL                  default http://127.0.0.1:8080
//   DEMO_STAFF_USERNAME / _PASSWORD (else STAFF_USERNAME / STAFF_PASSWORD)  required
//   DAYS                         the date range shown, ending today (UTC); default 60
//   OUT                          default docs/dashboard.png
//   FULL_PAGE=1                  the whole page (default: the 1280×900 window down to the end of
//                                the top products / active users tables)
//   CHROMIUM_PATH                default /usr/bin/chromium

import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const gateway = (process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '')
const username = process.env.DEMO_STAFF_USERNAME ?? process.env.STAFF_USERNAME
const password = process.env.DEMO_STAFF_PASSWORD ?? process.env.STAFF_PASSWORD
const days = Number(process.env.DAYS ?? 60)
const out = resolve(ROOT, process.env.OUT ?? 'docs/dashboard.png')
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

if (username === undefined || password === undefined) {
  process.stderr.write('screenshot: set STAFF_USERNAME and STAFF_PASSWORD (or DEMO_STAFF_*) to a staff account\n')
  process.exit(2)
}
if (!Number.isInteger(days) || days < 1 || days > 366) {
  process.stderr.write('screenshot: DAYS must be a whole number from 1 to 366\n')
  process.exit(2)
}

const day = (ms) => new Date(ms).toISOString().slice(0, 10)
const end = day(Date.now())
const start = day(Date.now() - (days - 1) * 86_400_000)

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ARGS, headless: true })
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const problems = []
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
  if (process.env.FULL_PAGE === '1') {
    await page.screenshot({ path: out, fullPage: true })
  } else {
    // the window, extended down to the end of the top products / active users row
    const bottom = await page.$eval('#products-body', (body) => {
      const row = body.closest('.grid') ?? body
      return Math.ceil(row.getBoundingClientRect().bottom + globalThis.scrollY)
    })
    await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.max(900, bottom + 12) } })
  }
  const revenue = await page.getAttribute('#total-revenue', 'data-value')
  process.stdout.write(`screenshot: ${out} (${start} … ${end}, revenue ${revenue ?? '?'})\n`)
  if (problems.length > 0) process.stderr.write(`screenshot: the page reported:\n  ${problems.join('\n  ')}\n`)
} catch (err) {
  process.stderr.write(`screenshot: ${err.message}\n(is the system running at ${gateway}, and the staff login right?)\n`)
  process.exitCode = 1
} finally {
  await browser.close()
}
