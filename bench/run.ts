/**
 * `npm run bench [-- --quick] [-- --keep] [-- --readme] [-- --only intake,settlement,dashboard,export]`
 *
 * Starts the platform itself from the built tree (./system.ts: every service
 * as its own process, own ports, own bench_* databases, own broker prefix,
 * rate limits off) and measures, in one run, each figure of issue 10 beside
 * its baseline, so their ratio holds on a noisy machine:
 *   order intake   POST /api/topup/ through the gateway (autocannon)  vs the same SQL with pg   (./intake.ts)
 *                  once at LOG_LEVEL=warn, once at info (the services' default): the cost of info logging
 *   event lag      201 → payments' and analytics' rows, from row timestamps                       (./lag.ts)
 *   settlement     signed webhooks through the gateway (autocannon)   vs the same SQL with pg   (./settlement.ts)
 *   dashboard      GET /api/analytics/summary/ over 100 k, 1 M, 10 M orders  vs scanning the rows (./dashboard.ts,
 *                  one analytics process per size, sampled in turn; filled with generate_series by ./read-model.ts)
 *   CSV export     GET /api/export/orders/ of 1 M rows, analytics' RSS   vs psql \copy            (./export.ts)
 * and writes bench/results/<date>.json and .md (./report.ts).
 *
 * How it runs TypeScript: through tap's own TypeScript loader, the one
 * `npm test` and `npm run test:chaos` use (`@tapjs/typescript`: ts-node,
 * transpile only): `node --import @tapjs/typescript/import bench/run.ts`.
 * Nothing to compile or keep in sync, no second loader to install (tsx is not
 * installed); types are checked by `npx tsc -p bench/tsconfig.json`. The
 * services themselves run from their dist/ (the npm script builds first).
 *
 * --quick   skips the 10 M dashboard step (its load alone takes minutes on
 *           2 cores) and shortens the intake runs (10 s, 100 players); the
 *           results go to <date>-quick.json/.md.
 * --keep    keeps the bench_* databases (their names are printed).
 * --readme  puts the table into README.md's "Benchmarks" section.
 * --only    a comma-separated subset of intake, settlement, dashboard, export
 *           (settlement includes the intake it settles).
 * BENCH_CPU_PROF=orders,gateway (environment) runs those processes with
 *           --cpu-prof; the profiles land in the log directory's profiles/.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { postgresAdminUrl, rabbitUrl, uniqueName } from '@topup/service-kit/testing'
import { readCatalog, type CatalogProduct } from './catalog.js'
import { cpuUse, describeCpu, sampleCpu, type CpuSample } from './cpu.js'
import { difference, lastDays, sampleInTurn, scanFigures, summaryCall, topUsersAnsweredBy, type Sampled } from './dashboard.js'
import { measureExport, psqlBaseline, type ExportResult } from './export.js'
import { intakeBaseline, prepareOrdersCopy, runIntake, type IntakeResult } from './intake.js'
import { measureLag, type LagResult } from './lag.js'
import { describeMachine, loadAverageNow } from './machine.js'
import { round, type ClosedLoopResult } from './measure.js'
import { createPlayers, staffToken } from './players.js'
import { elapsedSeconds, say, status, warn } from './progress.js'
import { fillReadModel, type LoadResult } from './read-model.js'
import { markdownTable, RATIO_MEANS, updateReadme, writeResults, type Figure, type Results } from './report.js'
import { preparePaymentsCopy, runSettlement, settlementBaseline, type SettlementResult } from './settlement.js'
import { createPlatform, ROOT, SERVICES, type Platform } from './system.js'

const USAGE = 'usage: npm run bench [-- --quick] [--keep] [--readme] [--only intake,settlement,dashboard,export]'
const PHASES = ['intake', 'settlement', 'dashboard', 'export'] as const
type Phase = typeof PHASES[number]

const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        readme: { type: 'boolean', default: false },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false }
      },
      strict: true,
      allowPositionals: false
    })
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`)
    process.exit(2)
  }
})()
if (args.help) { process.stdout.write(`${USAGE}\n`); process.exit(0) }
const only = args.only === undefined ? new Set<Phase>(PHASES) : new Set(args.only.split(',').map((p) => p.trim()).filter((p) => p !== '') as Phase[])
for (const phase of only) {
  if (!(PHASES as readonly string[]).includes(phase)) { process.stderr.write(`--only: unknown phase "${phase}" (one of ${PHASES.join(', ')})\n`); process.exit(2) }
}
if (only.has('settlement')) only.add('intake')

const QUICK = args.quick
const CONNECTIONS = 32
const INTAKE_SECONDS = QUICK ? 10 : 20
const WARMUP_SECONDS = 3
const PLAYERS = QUICK ? 100 : 300
const SIZES = QUICK ? [100_000, 1_000_000] : [100_000, 1_000_000, 10_000_000]
const EXPORT_SIZE = 1_000_000
const USERS_PER_ORDER = 1 / 20
const HISTORY_DAYS = 365
const RANGE_DAYS = 30
const DRAIN_WAIT_MS = 60_000
const SUMMARY_SECONDS = 10
const SCAN_SECONDS = 10
const GOAL = {
  intakeRatio: 0.5, intakeP99: 100, lagP99: 250, settlementRatio: 0.5, summaryP95: 20, flatness: 1.5, exportRatio: 0.5, exportGrowthBytes: 50e6
}

const startedAt = new Date()
const figures: Figure[] = []
const notes: string[] = []
const notMeasured: string[] = []
/** Steps that failed (not those --quick or --only leave out): the exit code is 1 when there is any. */
let failures = 0
const phases: Array<{ phase: string, seconds: number }> = []
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`
const k = (n: number): string => n >= 1_000_000 ? `${n / 1_000_000} M` : n >= 1000 ? `${n / 1000} k` : String(n)
const ratioOf = (a: number, b: number): number | null => b > 0 ? round(a / b, 3) : null

async function phase<T> (name: string, run: () => Promise<T>): Promise<T | undefined> {
  const t0 = Date.now()
  say(`${name} …`)
  try {
    return await run()
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    warn(`${name} failed: ${message}`)
    notMeasured.push(`${name}: ${message}`)
    failures++
    return undefined
  } finally {
    phases.push({ phase: name, seconds: round((Date.now() - t0) / 1000, 1) })
  }
}

// ---------------------------------------------------------------------------
// Figures

function intakeFigure (id: string, level: string, run: IntakeResult, base: ClosedLoopResult | undefined, lag: LagResult | undefined): Figure {
  const ratio = base === undefined ? null : ratioOf(run.perSecond, base.perSecond)
  const metGoal = ratio !== null && ratio >= GOAL.intakeRatio && run.p99 < GOAL.intakeP99 && run.errors === 0
  return {
    id,
    figure: `order intake, LOG_LEVEL=${level}: POST /api/topup/ through the gateway, ${PLAYERS} logged-in players, ${run.connections} connections, ${Math.round(run.seconds)} s`,
    measured: `${run.perSecond} orders/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.errors} errors (${run.orders} orders)`,
    baseline: base === undefined ? 'not measured' : `same SQL with pg, ${CONNECTIONS} connections: ${base.perSecond}/s, p50 ${base.latency.p50} ms, p99 ${base.latency.p99} ms, ${base.errors} errors`,
    ratio,
    goal: `ratio ≥ ${GOAL.intakeRatio}, p99 < ${GOAL.intakeP99} ms, 0 errors`,
    met: base === undefined ? null : metGoal,
    data: { run: { ...run, placed: undefined }, baseline: base, lag }
  }
}

function lagFigures (lag: LagResult): Figure[] {
  return (['payments', 'analytics'] as const).map((consumer) => {
    const l = lag[consumer]
    return {
      id: `lag.${consumer}`,
      figure: `event lag: 201 → its row in ${consumer} (${lag.orders} orders of the info intake run)`,
      measured: `p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms; ${l.missing} never arrived${l.beforeResponse > 0 ? `; ${l.beforeResponse} applied before the client had its 201 (counted 0 ms)` : ''}`,
      baseline: '—',
      ratio: null,
      goal: `p99 < ${GOAL.lagP99} ms, 0 missing`,
      met: l.p99 < GOAL.lagP99 && l.missing === 0,
      data: { ...l, method: lag.method, drainedAfterMs: lag.drainedAfterMs }
    }
  })
}

function settlementFigure (run: SettlementResult, base: ClosedLoopResult | undefined): Figure {
  const ratio = base === undefined ? null : ratioOf(run.perSecond, base.perSecond)
  const final = run.allFinalAfterStartMs === null
    ? `${run.stillPending} orders still pending after ${DRAIN_WAIT_MS / 1000} s`
    : `every order final in orders ${run.allFinalAfterStartMs} ms after the first webhook (${run.allFinalAfterLastWebhookMs} ms after the last answer)`
  return {
    id: 'settlement',
    figure: `settlement: signed POST /api/payment/webhook/ through the gateway, ${CONNECTIONS} connections, one per order (${run.webhooks})`,
    measured: `${run.perSecond} webhooks/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.errors} errors; ${final}`,
    baseline: base === undefined ? 'not measured' : `same transition with pg, ${CONNECTIONS} connections: ${base.perSecond}/s, p50 ${base.latency.p50} ms, p99 ${base.latency.p99} ms, ${base.errors} errors`,
    ratio,
    goal: `ratio ≥ ${GOAL.settlementRatio}`,
    met: ratio === null ? null : ratio >= GOAL.settlementRatio,
    data: { run, baseline: base }
  }
}

function dashboardFigure (size: number, load: LoadResult, summary: Sampled, scan: Sampled, mismatch: string | null, topUsers: string, viaGateway: Sampled | undefined): Figure {
  const ratio = ratioOf(scan.latency.p95, summary.latency.p95)
  return {
    id: `dashboard.${size}`,
    figure: `dashboard: GET /api/analytics/summary/ from analytics, ${RANGE_DAYS}-day range, read model of ${k(size)} orders (${k(load.users)} users) over a year`,
    measured: `p50 ${summary.latency.p50} ms, p95 ${summary.latency.p95} ms (${summary.samples} requests); answer ${mismatch === null ? '= scan' : `≠ scan (${mismatch})`}; top users ${topUsers === 'lists' ? 'from the block lists' : topUsers === 'scan' ? 'by the fallback sum' : '(answer path unknown: no readTopUsers)'}${viaGateway === undefined ? '' : `; through the gateway p50 ${viaGateway.latency.p50} ms, p95 ${viaGateway.latency.p95} ms`}`,
    baseline: `scan of the order rows: p50 ${scan.latency.p50} ms, p95 ${scan.latency.p95} ms (${scan.samples} runs)`,
    ratio,
    goal: `p95 < ${GOAL.summaryP95} ms (answer = scan)`,
    met: summary.latency.p95 < GOAL.summaryP95 && mismatch === null,
    data: { load, summary: summary.latency, summarySamples: summary.samples, scan: scan.latency, scanSamples: scan.samples, mismatch, topUsersAnsweredBy: topUsers, viaGateway: viaGateway?.latency }
  }
}

function exportFigure (run: ExportResult, base: ExportResult | undefined): Figure {
  const ratio = base === undefined ? null : ratioOf(run.rowsPerSecond, base.rowsPerSecond)
  const memory = run.rssGrowth === null ? 'analytics RSS not measured' : `analytics RSS +${mb(run.rssGrowth)} (peak ${mb(run.rssPeak ?? 0)})`
  return {
    id: 'export',
    figure: `CSV export: GET /api/export/orders/ through the gateway, ${k(run.rows)} rows`,
    measured: `${run.rowsPerSecond} rows/s (${run.rows} rows, ${mb(run.bytes)} in ${run.seconds} s); ${memory}`,
    baseline: base === undefined ? 'not measured' : `psql \\copy, same query, quoted CSV: ${base.rowsPerSecond} rows/s (${mb(base.bytes)} in ${base.seconds} s)`,
    ratio,
    goal: `ratio ≥ ${GOAL.exportRatio}, memory growth < ${mb(GOAL.exportGrowthBytes)}`,
    met: ratio === null || run.rssGrowth === null ? null : ratio >= GOAL.exportRatio && run.rssGrowth < GOAL.exportGrowthBytes,
    data: { run, baseline: base }
  }
}

/** The table's order: intake, lag, settlement, dashboard by size, its flatness, export. */
function figureRank (id: string): number {
  const order = ['intake.warn', 'intake', 'lag.payments', 'lag.analytics', 'settlement', 'dashboard.', 'dashboard.flatness', 'export']
  if (id.startsWith('dashboard.') && id !== 'dashboard.flatness') return order.indexOf('dashboard.') * 1e9 + Number(id.slice('dashboard.'.length))
  return order.indexOf(id) * 1e9
}

// ---------------------------------------------------------------------------
// The run

function preflight (): void {
  for (const name of [...SERVICES, 'gateway']) {
    if (!existsSync(join(ROOT, 'services', name, 'dist', 'src', 'server.js'))) {
      throw new Error(`services/${name}/dist/src/server.js is missing: run \`npm run build\` first (\`npm run bench\` does it)`)
    }
  }
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' })
  } catch {
    throw new Error('psql is not installed: the export baseline needs it (apt-get install postgresql-client)')
  }
}

async function main (): Promise<number> {
  preflight()
  const adminUrl = await postgresAdminUrl()
  const amqpUrl = await rabbitUrl()
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  const machine = await describeMachine(admin, ROOT)
  await admin.end()
  const runId = uniqueName('bench')
  const logDir = mkdtempSync(join(tmpdir(), 'bench-logs-'))
  say(`run ${runId}${QUICK ? ' (--quick: no 10 M dashboard step, intake 10 s with 100 players)' : ''}; ${machine.cores} cores, load average ${machine.load_average_at_start.join(' / ')}`)
  say(`logs of every process: ${logDir}`)
  const platform = await createPlatform({ runId, adminDatabaseUrl: adminUrl, amqpUrl, logDir })
  let disposed = false
  const dispose = async (): Promise<void> => {
    if (disposed) return
    disposed = true
    const problems = await platform.dispose(args.keep)
    for (const p of problems) warn(`cleanup: ${p}`)
    if (args.keep) say(`kept the databases ${runId}_* (drop them with DROP DATABASE … WITH (FORCE))`)
  }
  process.once('exit', () => { platform.killNow() })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      warn(`${signal}: stopping the platform and cleaning up`)
      void dispose().finally(() => process.exit(130))
    })
  }

  try {
    await measureAll(platform)
  } finally {
    say('stopping the platform, dropping its databases …')
    await dispose()
  }
  machine.load_average_at_end = loadAverageNow()
  const finishedAt = new Date()
  const results: Results = {
    date: startedAt.toISOString().slice(0, 10),
    mode: QUICK ? 'quick' : 'full',
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    duration_seconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
    settings: { connections: CONNECTIONS, intake_seconds: INTAKE_SECONDS, warmup_seconds: WARMUP_SECONDS, players: PLAYERS, sizes: SIZES, export_size: EXPORT_SIZE, range_days: RANGE_DAYS, history_days: HISTORY_DAYS, only: [...only] },
    machine,
    figures,
    ratio_means: RATIO_MEANS,
    notes,
    not_measured: notMeasured,
    phases,
    logs: logDir
  }
  figures.sort((a, b) => figureRank(a.id) - figureRank(b.id))
  const files = await writeResults(join(ROOT, 'bench', 'results'), results)
  process.stdout.write(`\n${markdownTable(results)}\n\n`)
  say(`results: ${relative(ROOT, files.json)}, ${relative(ROOT, files.md)} (${Math.round(results.duration_seconds)} s in all)`)
  if (args.readme) {
    const updated = await updateReadme(join(ROOT, 'README.md'), results, relative(ROOT, files.md))
    if (updated) say('README.md: the "Benchmarks" section shows this run')
    else warn('README.md has no bench:results markers: not updated')
  }
  for (const n of notMeasured) warn(`not measured: ${n}`)
  return failures === 0 ? 0 : 1
}

async function measureAll (platform: Platform): Promise<void> {
  const wantsIntake = only.has('intake')
  // the warn intake first (then one restart at info for everything else)
  const firstLevel = wantsIntake ? 'warn' : 'info'
  const started = await phase(`starting the platform at LOG_LEVEL=${firstLevel}`, async () => { await platform.start(firstLevel); return true })
  if (started !== true) throw new Error('the platform did not start (see the logs above)')
  const catalog = await readCatalog(platform.gatewayUrl)
  say(`catalog: ${catalog.length} products of ${new Set(catalog.map((p) => p.game_id)).size} games`)

  let placed: IntakeResult | undefined
  if (wantsIntake) placed = await intakePhases(platform, catalog)
  if (only.has('settlement')) {
    if (placed === undefined || placed.placed.length === 0) { notMeasured.push('settlement: no orders from the intake run to settle'); failures++ }
    else await settlementPhase(platform, placed)
  }
  if (only.has('dashboard') || only.has('export')) await readModelPhases(platform, catalog)
}

async function intakePhases (platform: Platform, catalog: CatalogProduct[]): Promise<IntakeResult | undefined> {
  const platformPids = (): Record<string, number | undefined> => Object.fromEntries([...SERVICES, 'gateway'].map((name) => [name, platform.pid(name)]))
  /** Where the CPU went since `before`, per order: on the console and in the results' notes. */
  const noteCpu = (what: string, before: CpuSample, orders: number): void => {
    const cpu = describeCpu(cpuUse(before, sampleCpu(platformPids()), orders), 'order')
    say(`  ${cpu}`)
    notes.push(`CPU during ${what} (/proc accounting of every process): ${cpu} ms.`)
  }
  const players = await phase(`registering and logging in ${PLAYERS} players`, async () =>
    await createPlayers(platform.gatewayUrl, platform.runId, PLAYERS, (done) => { status(`players: ${done}/${PLAYERS}`) }))
  if (players === undefined) return undefined
  const intake = async (level: string): Promise<IntakeResult | undefined> => {
    await phase(`warm-up at LOG_LEVEL=${level} (${WARMUP_SECONDS} s, not measured)`, async () =>
      await runIntake({ gatewayUrl: platform.gatewayUrl, players, catalog, seconds: WARMUP_SECONDS, connections: CONNECTIONS, label: 'warm-up' }))
    const before = sampleCpu(platformPids())
    const run = await phase(`order intake at LOG_LEVEL=${level} (${INTAKE_SECONDS} s, ${CONNECTIONS} connections)`, async () =>
      await runIntake({ gatewayUrl: platform.gatewayUrl, players, catalog, seconds: INTAKE_SECONDS, connections: CONNECTIONS, label: `intake ${level}` }))
    if (run !== undefined) {
      say(`  ${run.perSecond} orders/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.errors} errors (${JSON.stringify(run.statusCodes)})`)
      noteCpu(`the order intake at LOG_LEVEL=${level}`, before, run.orders)
    }
    return run
  }
  const lagOf = async (run: IntakeResult, level: string): Promise<LagResult | undefined> => await phase(`event lag of the ${level} run's ${run.orders} orders`, async () => {
    const lag = await measureLag({ placed: run.placed, databaseUrls: platform.databaseUrls, waitMs: DRAIN_WAIT_MS, label: 'lag' })
    say(`  payments p50 ${lag.payments.p50} / p99 ${lag.payments.p99} ms, ${lag.payments.missing} missing; analytics p50 ${lag.analytics.p50} / p99 ${lag.analytics.p99} ms, ${lag.analytics.missing} missing`)
    return lag
  })

  const warnRun = await intake('warn')
  const warnLag = warnRun === undefined ? undefined : await lagOf(warnRun, 'warn')
  const restarted = await phase('restarting the platform at LOG_LEVEL=info (the services\' default)', async () => { await platform.restart('info'); return true })
  if (restarted !== true) throw new Error('the platform did not restart')

  const base = await phase(`intake baseline: the same SQL with pg (${INTAKE_SECONDS} s, ${CONNECTIONS} connections)`, async () => {
    const copy = await platform.extraDatabase('orders_pg')
    await prepareOrdersCopy(copy, platform.databaseUrls.orders)
    const before = sampleCpu(platformPids())
    const result = await intakeBaseline({ copyUrl: copy, catalog, users: PLAYERS, seconds: INTAKE_SECONDS, connections: CONNECTIONS, label: 'intake baseline' })
    say(`  ${result.perSecond} orders/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.errors} errors${result.firstError === null ? '' : ` (${result.firstError})`}`)
    noteCpu('the intake baseline', before, result.done)
    return result
  })
  const infoRun = await intake('info')
  const infoLag = infoRun === undefined ? undefined : await lagOf(infoRun, 'info')

  if (warnRun !== undefined) figures.push({ ...intakeFigure('intake.warn', 'warn', warnRun, base, warnLag), goal: '— (the cost of info logging: compare with the info row)', met: null, informational: true })
  if (infoRun !== undefined) figures.push(intakeFigure('intake', 'info', infoRun, base, infoLag))
  if (warnRun !== undefined && infoRun !== undefined && warnRun.perSecond > 0) {
    notes.push(`Info logging on the hot path: ${infoRun.perSecond} orders/s at info vs ${warnRun.perSecond} at warn ` +
      `(${round((1 - infoRun.perSecond / warnRun.perSecond) * 100, 1)} % fewer), p99 ${infoRun.p99} vs ${warnRun.p99} ms.`)
  }
  if (base !== undefined) {
    notes.push(`Intake and settlement baselines hold ${CONNECTIONS} PostgreSQL connections, one per HTTP connection of the runs they are compared with; orders and payments themselves open at most 10 each (service-kit's pool), so under the same load they run at most 10 transactions at once.`)
  }
  if (infoLag !== undefined) {
    figures.push(...lagFigures(infoLag))
    notes.push(`Event lag: ${infoLag.method}.`)
  }
  return infoRun
}

async function settlementPhase (platform: Platform, intake: IntakeResult): Promise<void> {
  const count = intake.placed.length
  const base = await phase(`settlement baseline: the same transition with pg (${count} transactions, ${CONNECTIONS} connections)`, async () => {
    const copy = await platform.extraDatabase('payments_pg')
    const ids = await preparePaymentsCopy(copy, count)
    const result = await settlementBaseline({ copyUrl: copy, transactionIds: ids, connections: CONNECTIONS, label: 'settlement baseline' })
    say(`  ${result.perSecond} transitions/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.errors} errors${result.firstError === null ? '' : ` (${result.firstError})`}`)
    return result
  })
  const run = await phase(`settlement: ${count} signed webhooks through the gateway (${CONNECTIONS} connections)`, async () => {
    const result = await runSettlement({ gatewayUrl: platform.gatewayUrl, secret: platform.webhookSecret, placed: intake.placed, connections: CONNECTIONS, ordersDatabaseUrl: platform.databaseUrls.orders, waitMs: DRAIN_WAIT_MS, label: 'settlement' })
    say(`  ${result.perSecond} webhooks/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.errors} errors; all final after ${result.allFinalAfterStartMs ?? '—'} ms`)
    return result
  })
  if (run !== undefined) figures.push(settlementFigure(run, base))
}

interface ReadModel { size: number, label: string, url: string, databaseUrl: string, load: LoadResult }

/**
 * The read models, one analytics process each: the export's size in the
 * platform's own analytics (the export goes through the gateway to it), the
 * other sizes in extra analytics processes; the export right after its load
 * (before the 10 M load, which it would otherwise follow on a busier
 * machine); then the dashboard over every size, sampled in turn.
 */
async function readModelPhases (platform: Platform, catalog: CatalogProduct[]): Promise<void> {
  const sizes = only.has('dashboard') ? SIZES : [EXPORT_SIZE]
  if (QUICK && only.has('dashboard')) notMeasured.push('dashboard at 10 M orders: skipped by --quick (the full run measures it)')
  const models: ReadModel[] = []
  for (const size of sizes) {
    const label = k(size)
    const users = Math.round(size * USERS_PER_ORDER)
    const model = await phase(`loading a read model of ${label} orders, ${k(users)} users over ${HISTORY_DAYS} days (generate_series)`, async () => {
      const where = size === EXPORT_SIZE
        ? { url: platform.serviceUrls.analytics, databaseUrl: platform.databaseUrls.analytics }
        : await platform.extraAnalytics(label.replace(' ', '').toLowerCase())
      const client = new pg.Client({ connectionString: where.databaseUrl })
      await client.connect()
      try {
        const load = await fillReadModel(client, where.databaseUrl, { orders: size, users, days: HISTORY_DAYS, catalog, onProgress: (m) => { status(`load ${label}: ${m}`) } })
        const parts = `order rows ${round(load.ordersMs / 1000, 1)} s, aggregates ${round(load.aggregatesMs / 1000, 1)} s, indexes ${round(load.indexesMs / 1000, 1)} s, analyze ${round(load.analyzeMs / 1000, 1)} s`
        say(`  loaded in ${round(load.totalMs / 1000, 1)} s (${parts}): ${JSON.stringify(load.rows)}`)
        notes.push(`Read model of ${label} orders loaded in ${round(load.totalMs / 1000, 1)} s (${parts}): ${Object.entries(load.rows).map(([t, n]) => `${t} ${n}`).join(', ')}.`)
        return { size, label, url: where.url, databaseUrl: where.databaseUrl, load }
      } finally {
        await client.end()
      }
    })
    if (model === undefined) break
    models.push(model)
    if (only.has('export') && size === EXPORT_SIZE) await exportPhase(platform)
  }
  if (only.has('dashboard') && models.length > 0) await dashboardPhase(platform, models)
}

async function dashboardPhase (platform: Platform, models: ReadModel[]): Promise<void> {
  const range = lastDays(RANGE_DAYS)
  const today = range.end
  await phase(`dashboard: the summary of ${range.start} … ${range.end} at ${models.map((m) => m.label).join(', ')} orders in turn, then the scans in turn`, async () => {
    const staff = await staffToken(platform.gatewayUrl, platform.staff)
    const token = (): string => staff
    const viaGateway = models.find((m) => m.size === EXPORT_SIZE)
    const targets = [
      ...models.map((m) => ({ label: m.label, once: summaryCall(m.url, token, range) })),
      ...(viaGateway === undefined ? [] : [{ label: `${viaGateway.label} via the gateway`, once: summaryCall(platform.gatewayUrl, token, range) }])
    ]
    const summaries = await sampleInTurn('summary', targets, { seconds: SUMMARY_SECONDS * targets.length, minSamples: 10, maxSamples: 500, warmup: 3 })
    const clients = await Promise.all(models.map(async (m) => {
      const client = new pg.Client({ connectionString: m.databaseUrl })
      await client.connect()
      return client
    }))
    let scans
    try {
      // a scan of 10 M orders takes seconds: a few runs after the warm-up are what the time allows
      scans = await sampleInTurn('scan', models.map((m, i) => ({ label: m.label, once: async () => await scanFigures(clients[i] as pg.Client, range, today) })),
        { seconds: SCAN_SECONDS * models.length, minSamples: 3, maxSamples: 200, warmup: 1 })
    } finally {
      await Promise.all(clients.map(async (c) => { await c.end() }))
    }
    const gateway = viaGateway === undefined ? undefined : summaries[models.length]
    for (const [i, m] of models.entries()) {
      const summary = summaries[i] as Sampled
      const scan = scans[i] as Sampled
      const mismatch = summary.answer === null || scan.answer === null ? 'no answer' : difference(summary.answer, scan.answer)
      if (mismatch !== null) warn(`the summary at ${m.label} differs from the scan: ${mismatch}`)
      const topUsers = await topUsersAnsweredBy(m.databaseUrl, range)
      say(`  ${m.label}: summary p50 ${summary.latency.p50} / p95 ${summary.latency.p95} ms (top users: ${topUsers}); scan p50 ${scan.latency.p50} / p95 ${scan.latency.p95} ms`)
      figures.push(dashboardFigure(m.size, m.load, summary, scan, mismatch, topUsers, m === viaGateway ? gateway : undefined))
    }
    const first = models[0]
    const last = models[models.length - 1]
    if (first !== undefined && last !== undefined && models.length > 1) {
      const small = (summaries[0] as Sampled).latency.p95
      const big = (summaries[models.length - 1] as Sampled).latency.p95
      const growth = small > 0 ? round(big / small, 2) : null
      figures.push({
        id: 'dashboard.flatness',
        figure: `dashboard: p95 at ${last.label} orders against p95 at ${first.label} (sampled in turn)`,
        measured: `${big} ms vs ${small} ms = ${growth ?? '?'}×`,
        baseline: '—',
        ratio: null,
        goal: `≤ ${GOAL.flatness}×${QUICK ? ' (at 10 M; --quick compares 1 M)' : ''}`,
        met: growth === null ? null : growth <= GOAL.flatness,
        data: { p95: Object.fromEntries(models.map((m, i) => [m.size, (summaries[i] as Sampled).latency.p95])) }
      })
    }
  })
}

async function exportPhase (platform: Platform): Promise<void> {
  await phase(`CSV export of ${k(EXPORT_SIZE)} orders through the gateway, then psql \\copy`, async () => {
    const token = await staffToken(platform.gatewayUrl, platform.staff)
    const run = await measureExport({ gatewayUrl: platform.gatewayUrl, token, analyticsPid: platform.pid('analytics'), label: 'export' })
    say(`  ${run.rowsPerSecond} rows/s, ${mb(run.bytes)}, analytics RSS +${run.rssGrowth === null ? '?' : mb(run.rssGrowth)}`)
    const base = await psqlBaseline({ databaseUrl: platform.databaseUrls.analytics, label: 'psql \\copy' })
    say(`  psql \\copy: ${base.rowsPerSecond} rows/s, ${mb(base.bytes)}`)
    if (base.rows !== run.rows) warn(`the export gave ${run.rows} rows, psql ${base.rows}`)
    figures.push(exportFigure(run, base))
  })
}

main().then((code) => {
  say(`done in ${Math.round(elapsedSeconds())} s`)
  process.exit(code)
}, (err: unknown) => {
  warn(err instanceof Error ? err.stack ?? err.message : String(err))
  process.exit(1)
})
