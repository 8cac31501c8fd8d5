import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sql } from 'kysely'
import { ConfigError } from '@topup/service-kit'
import { parseCsv } from '@topup/service-kit/testing'
import { loadAnalyticsConfig } from '../src/config.js'
import { ensureBusinessTimeZone, storedTimeZone, TimeZoneMismatch } from '../src/db/business-days.js'
import { serviceRoot } from '../src/routes/dashboard/index.js'
import { build, orderCreated, paymentChanged, type Harness } from './helper.js'

const run = promisify(execFile)

async function summary (h: Harness, query: string) {
  const res = await h.app.inject({ url: `/api/analytics/summary/${query}`, headers: h.staff() })
  return { status: res.statusCode, body: res.json() }
}

async function settle (h: Harness, createdAt: string, status: 'success' | 'failed' | 'pending', amount = '10.00') {
  const order = orderCreated({ created_at: createdAt, amount })
  await h.deliver(order)
  if (status !== 'pending') await h.deliver(paymentChanged(order, status))
  return order
}

t.test('BUSINESS_TIMEZONE is checked at start', async (t) => {
  t.equal(loadAnalyticsConfig({}).BUSINESS_TIMEZONE, 'UTC', 'default UTC')
  t.equal(loadAnalyticsConfig({ BUSINESS_TIMEZONE: 'Asia/Kolkata' }).BUSINESS_TIMEZONE, 'Asia/Kolkata')
  for (const bad of ['Mars/Olympus_Mons', '+05:30', 'IST+5', '']) {
    let problems: string[] = []
    try {
      loadAnalyticsConfig({ BUSINESS_TIMEZONE: bad })
    } catch (err) {
      if (err instanceof ConfigError) problems = err.problems
    }
    t.equal(problems.length, 1, `${JSON.stringify(bad)} refused, one line`)
    t.match(problems[0], /^BUSINESS_TIMEZONE: /, 'naming the variable')
  }
})

// 2026-03-15T20:00Z is 2026-03-16 01:30 in Kolkata (UTC+05:30): "today" is the 16th there
const NOW = new Date('2026-03-15T20:00:00.000Z')

t.test('Asia/Kolkata days: the summary, the charts\' days, "this month" and the exports', async (t) => {
  const h = await build(t, { now: () => NOW, env: { BUSINESS_TIMEZONE: 'Asia/Kolkata' } })
  t.equal(await storedTimeZone(h.app.db), 'Asia/Kolkata', 'an empty read model takes the configured zone at start')
  const lastOf14th = await settle(h, '2026-03-14T18:29:59.999Z', 'success', '1.00') // 23:59:59.999 on the 14th in Kolkata
  const firstOf15th = await settle(h, '2026-03-14T18:30:00.000Z', 'success', '2.00') // 00:00 on the 15th there (still the 14th in UTC)
  await settle(h, '2026-02-28T19:00:00.000Z', 'failed') // 00:30 on 1 March there: a March failure
  await settle(h, '2026-02-28T18:00:00.000Z', 'failed') // 23:30 on 28 February there

  const day15 = await summary(h, '?start_date=2026-03-15&end_date=2026-03-15')
  t.equal(day15.status, 200)
  t.equal(day15.body.timezone, 'Asia/Kolkata')
  t.equal(day15.body.today, '2026-03-16', 'today is Kolkata\'s')
  t.same(day15.body.daily_revenue, [{ date: '2026-03-15', revenue: '2.00', orders: 1, successful_orders: 1 }], 'the order at 00:00 there is on the 15th')
  t.same((await summary(h, '?start_date=2026-03-14&end_date=2026-03-14')).body.daily_revenue, [{ date: '2026-03-14', revenue: '1.00', orders: 1, successful_orders: 1 }], '23:59:59.999 there is on the 14th')

  const byDefault = await summary(h, '')
  t.match(byDefault.body, { start_date: '2026-02-15', end_date: '2026-03-16' }, 'the default range ends on Kolkata\'s today')
  t.same(byDefault.body.failed_payments.this_month, { month: '2026-03', count: 1 }, 'this month is Kolkata\'s March: the failure at 00:30 on 1 March there')
  t.same((await summary(h, '?start_date=2026-02-28&end_date=2026-03-01')).body.failed_payments.by_month, [{ month: '2026-02', count: 1 }, { month: '2026-03', count: 1 }])
  t.match((await summary(h, '?preset=today')).body, { start_date: '2026-03-16', end_date: '2026-03-16' })

  // the exports count the same days
  const exported = async (path: string, query: string) => {
    const res = await h.app.inject({ url: `/api/export/${path}/${query}`, headers: h.staff() })
    t.equal(res.statusCode, 200)
    return parseCsv(res.body).slice(1).map((row) => row[0])
  }
  t.same(await exported('orders', '?start_date=2026-03-15&end_date=2026-03-15'), [firstOf15th.data.order_id], 'the export of the 15th: the order at 00:00 there')
  t.same((await exported('orders', '?end_date=2026-03-14')).filter((id) => id === lastOf14th.data.order_id || id === firstOf15th.data.order_id), [lastOf14th.data.order_id], 'up to the 14th: the order at 23:59:59.999 there')
  t.equal((await exported('failures', '?start_date=2026-03-01&end_date=2026-03-31')).length, 1, 'March\'s failures in Kolkata days')

  t.test('a different BUSINESS_TIMEZONE with orders in the read model: refused, naming the command', async (t) => {
    const refused = await ensureBusinessTimeZone(h.app.db, 'UTC').then(() => null, (err: unknown) => err)
    t.ok(refused instanceof TimeZoneMismatch, 'refused')
    t.match((refused as Error).message, /days are in Asia\/Kolkata but BUSINESS_TIMEZONE is UTC: .*BUSINESS_TIMEZONE=UTC npm run rebuild-days -w @topup\/analytics/)
    await t.rejects(ensureBusinessTimeZone(h.app.db, 'Europe/Atlantis'), /PostgreSQL does not know the time zone Europe\/Atlantis/)
    t.equal(await storedTimeZone(h.app.db), 'Asia/Kolkata', 'nothing changed')
    await ensureBusinessTimeZone(h.app.db, 'Asia/Kolkata')
    t.pass('the same zone starts')
  })

  t.test('npm run rebuild-days: recomputes the days in the new zone', async (t) => {
    const cli = join(serviceRoot(), 'dist', 'src', 'cli', 'rebuild-days.js')
    if (!existsSync(cli)) {
      t.fail(`build first (npx tsc -b tsconfig.build.json): no ${cli}`)
      return
    }
    const { stdout } = await run(process.execPath, [cli], { env: { ...process.env, DATABASE_URL: h.databaseUrl, BUSINESS_TIMEZONE: 'UTC' } })
    t.match(stdout, /rebuild-days: 4 orders on \d+ days, now in UTC days \(were Asia\/Kolkata\)/)
    t.equal(await storedTimeZone(h.app.db), 'UTC')
    const rows = await sql<{ day: string, revenue: string }>`SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(revenue)::text AS revenue FROM daily_game_product_stats WHERE revenue > 0 GROUP BY 1 ORDER BY 1`.execute(h.app.db)
    t.same(rows.rows, [{ day: '2026-03-14', revenue: '3.00' }], 'both orders are on the UTC 14th now')
    const bad = await run(process.execPath, [cli], { env: { ...process.env, DATABASE_URL: h.databaseUrl, BUSINESS_TIMEZONE: 'Nowhere/Else' } }).catch((err: { code: number, stderr: string }) => err)
    t.match(bad, { code: 1, stderr: /BUSINESS_TIMEZONE: must be an IANA time zone name/ }, 'a bad zone: one line, exit 1')
  })
})

t.test('presets, the previous period, % change and the average order value', async (t) => {
  const h = await build(t, { now: () => new Date('2026-03-15T09:30:00.000Z') })

  t.test('presets', async (t) => {
    for (const [preset, start, end] of [
      ['today', '2026-03-15', '2026-03-15'],
      ['last_7_days', '2026-03-09', '2026-03-15'],
      ['last_30_days', '2026-02-14', '2026-03-15'],
      ['month_to_date', '2026-03-01', '2026-03-15'],
      ['last_month', '2026-02-01', '2026-02-28']
    ] as const) {
      const { status, body } = await summary(h, `?preset=${preset}`)
      t.equal(status, 200, preset)
      t.match(body, { start_date: start, end_date: end }, `${preset}: ${start}..${end}`)
    }
    for (const [query, reason] of [['?preset=yesterday', /must be one of today, last_7_days/], ['?preset=today&start_date=2026-03-01', /cannot be combined/], ['?preset=today&end_date=2026-03-01', /cannot be combined/]] as const) {
      const { status, body } = await summary(h, query)
      t.equal(status, 400, query)
      t.equal(body.details?.[0]?.field, 'preset', `${query}: names preset`)
      t.match(body.details?.[0]?.message, reason)
    }
  })

  t.test('against the previous period of the same length', async (t) => {
    // 2026-03-10..12; previous: 2026-03-07..09
    await settle(h, '2026-03-07T10:00:00.000Z', 'success', '30.00')
    await settle(h, '2026-03-09T10:00:00.000Z', 'success', '50.00')
    await settle(h, '2026-03-09T11:00:00.000Z', 'failed', '99.00')
    await settle(h, '2026-03-08T11:00:00.000Z', 'pending', '99.00')
    await settle(h, '2026-03-06T10:00:00.000Z', 'success', '1000.00') // before both periods
    await settle(h, '2026-03-11T10:00:00.000Z', 'success', '100.00')
    await settle(h, '2026-03-12T10:00:00.000Z', 'failed', '5.00')
    const { body } = await summary(h, '?start_date=2026-03-10&end_date=2026-03-12')
    t.same(body.previous, {
      start_date: '2026-03-07',
      end_date: '2026-03-09',
      totals: { revenue: '80.00', orders: 4, successful_orders: 2, failed_orders: 1, pending_orders: 1, success_rate: '50.00', average_order_value: '40.00' }
    })
    t.match(body.totals, { revenue: '100.00', orders: 2, successful_orders: 1, success_rate: '50.00', average_order_value: '100.00' })
    t.same(body.change, { revenue: '25.00', orders: '-50.00', successful_orders: '-50.00', average_order_value: '150.00', success_rate_points: '0.00' })

    const firstEver = (await summary(h, '?start_date=2026-03-06&end_date=2026-03-06')).body
    t.same(firstEver.change, { revenue: null, orders: null, successful_orders: null, average_order_value: null, success_rate_points: null }, 'no previous figures: no % (never a division by zero)')
  })

  t.test('the average order value: revenue / successful orders, two places, half up', async (t) => {
    await settle(h, '2026-01-10T10:00:00.000Z', 'success', '0.01')
    await settle(h, '2026-01-10T11:00:00.000Z', 'success', '0.02')
    await settle(h, '2026-01-10T12:00:00.000Z', 'failed', '500.00')
    t.equal((await summary(h, '?start_date=2026-01-10&end_date=2026-01-10')).body.totals.average_order_value, '0.02', '0.03 / 2 = 0.015 → 0.02')
    await settle(h, '2026-01-11T10:00:00.000Z', 'success', '10.00')
    await settle(h, '2026-01-11T10:00:00.000Z', 'success', '10.00')
    await settle(h, '2026-01-11T10:00:00.000Z', 'success', '10.01')
    t.equal((await summary(h, '?start_date=2026-01-11&end_date=2026-01-11')).body.totals.average_order_value, '10.00', '30.01 / 3 = 10.0033… → 10.00')
    await settle(h, '2026-01-12T10:00:00.000Z', 'pending', '10.00')
    t.equal((await summary(h, '?start_date=2026-01-12&end_date=2026-01-12')).body.totals.average_order_value, null, 'no successful order: none')
  })
})
