/**
 * The chaos run (issue 9): `npm run test:chaos [-- --keep]`.
 *
 * Starts the whole platform as real processes (auth, orders, payments,
 * analytics, gateway from the built tree, as `npm start` does) on a PRIVATE
 * PostgreSQL and a PRIVATE RabbitMQ node (./infra.ts: the machine's shared
 * ones are never stopped), drives steady load through the gateway (./load.ts)
 * while faults hit the system on a schedule (broker stopped twice, orders,
 * payments and analytics SIGKILLed and restarted, PostgreSQL restarted,
 * payments cut from the broker for 30 s through a TCP proxy, a burst of
 * malformed connections at the gateway: ./attacks.ts), lets everything
 * settle, then checks every service's own database, the dashboard and the
 * dead-letter queues (./checks.ts). Prints a table of faults, counts and
 * checks; exits 1 on any mismatch.
 *
 * How it runs TypeScript: tsx is not installed; tap's own TypeScript loader is
 * (`@tapjs/typescript`, ts-node in transpile-only mode, the one `npm test`
 * uses), so the npm script is
 *   TS_NODE_TRANSPILE_ONLY=1 node --import @tapjs/typescript/import test/chaos/run.ts
 * (types are checked by `npm run typecheck`, test/chaos/tsconfig.json).
 * The services themselves run from their dist/ (the script builds first).
 *
 * --keep: the private PostgreSQL's data directory is kept (and the command to
 * start it again printed) instead of being deleted with its databases.
 * Knobs (environment): CHAOS_PLAYERS (200), CHAOS_ORDERS (3000),
 * CHAOS_LOAD_SECONDS (140), CHAOS_CONCURRENCY (32), CHAOS_SEED (random),
 * CHAOS_MAX_SECONDS (420: past it the run stops everything and fails).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BrokerConnection, serviceQueueNames, topologyNames, type Logger } from '@topup/messaging'
import { freeLowPort } from '@topup/service-kit/testing'
import { startTcpProxy, type TcpProxy } from '../system/tcp-proxy.js'
import { malformedBurst, type BurstResult } from './attacks.js'
import { auditGaps, consistencyChecks, dashboardCheck, progress, snapshot, type Check, type Databases, type GameRevenue, type SummaryTotals } from './checks.js'
import { startPrivatePostgres, startPrivateRabbit, type PrivatePostgres, type PrivateRabbit } from './infra.js'
import { call, Limiter, sleep, startLoad, type Load, type Player, type Product } from './load.js'
import { startable, statusOf, type Exit, type ServiceName, type ServiceProcess } from './processes.js'
import { seconds, table } from './report.js'

const USAGE = 'usage: npm run test:chaos [-- --keep]   (--keep: keep the private PostgreSQL data directory and its databases)'

function intFromEnv (name: string, fallback: number, min = 1): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`${name} must be an integer ≥ ${min}, got "${raw}"\n`)
    process.exit(2)
  }
  return value
}

const args = process.argv.slice(2)
for (const arg of args) {
  if (arg === '--help' || arg === '-h') { process.stdout.write(`${USAGE}\n`); process.exit(0) }
  if (arg !== '--keep') { process.stderr.write(`unknown argument "${arg}"\n${USAGE}\n`); process.exit(2) }
}
const KEEP = args.includes('--keep')
const PLAYERS = intFromEnv('CHAOS_PLAYERS', 200)
const ORDERS = intFromEnv('CHAOS_ORDERS', 3000)
const LOAD_SECONDS = intFromEnv('CHAOS_LOAD_SECONDS', 140, 30)
const CONCURRENCY = intFromEnv('CHAOS_CONCURRENCY', 32)
const SEED = intFromEnv('CHAOS_SEED', Math.floor(Math.random() * 2 ** 31), 0)
const BROKER_CUT_MS = Math.min(30_000, LOAD_SECONDS * 250)
/** How long clients and the provider go on retrying after the last order was placed. */
const RETRY_AFTER_LOAD_MS = 45_000
/** How long the outboxes and queues get to drain before the checks. */
const SETTLE_MS = 60_000

const runStarted = Date.now()
const runId = `chaos${runStarted.toString(36)}${randomBytes(2).toString('hex')}`
const logDir = mkdtempSync(join(tmpdir(), 'chaos-logs-'))
const dataDir = mkdtempSync(join(tmpdir(), 'chaos-data-'))
const say = (message: string): void => { process.stdout.write(`[chaos ${seconds(Date.now() - runStarted).padStart(6)} s] ${message}\n`) }
const silent: Logger = { debug () {}, info () {}, warn () {}, error () {} }

// a run that hangs still ends, reports and cleans up (CI's outer timeout is only a last resort)
const MAX_RUN_MS = intFromEnv('CHAOS_MAX_SECONDS', 420) * 1000
setTimeout(() => {
  say(`the run took longer than ${seconds(MAX_RUN_MS)} s: stopping everything (a hang is a failure)`)
  void shutdown().finally(() => process.exit(1))
}, MAX_RUN_MS).unref()

say(`run ${runId}, seed ${SEED}: ${PLAYERS} players, ${ORDERS} orders over ${LOAD_SECONDS} s at concurrency ${CONCURRENCY}`)
say(`logs of every process: ${logDir}`)

// ---------------------------------------------------------------------------
// What happened, for the report

interface Fault { what: string, at: number, ms: number, note: string }
const faults: Fault[] = []
let loadStarted = 0
const sinceLoad = (at: number): number => (loadStarted === 0 ? 0 : at - loadStarted)

async function fault (what: string, run: () => Promise<string>): Promise<void> {
  const at = Date.now()
  say(`fault: ${what}`)
  let note: string
  try {
    note = await run()
  } catch (err) {
    note = `FAILED: ${(err as Error).message}`
    setupProblems.push(`${what}: ${(err as Error).message}`)
  }
  faults.push({ what, at: sinceLoad(at), ms: Date.now() - at, note })
  say(`fault done: ${what} (${seconds(Date.now() - at)} s) ${note}`)
}

/** Things that went wrong in the run itself (a fault that could not be applied, a restart that never became ready). */
const setupProblems: string[] = []

// ---------------------------------------------------------------------------
// Infrastructure and processes

let postgres: PrivatePostgres | undefined
let rabbit: PrivateRabbit | undefined
let proxy: TcpProxy | undefined
let broker: BrokerConnection | undefined
const services = new Map<ServiceName, ServiceProcess>()

// whatever happens, no process of this run outlives it
process.on('exit', () => {
  for (const service of services.values()) {
    const pid = service.pid()
    if (pid !== undefined) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  }
  rabbit?.kill()
  if (!stopped) postgres?.stopNow()
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping`)
    void shutdown().finally(() => process.exit(130))
  })
}

let shutDown = false
/** The database server has been stopped (nothing left to do on exit). */
let stopped = false
/** Gateway first, then the services (SIGTERM), then the broker and the database server. */
async function shutdown (): Promise<Check> {
  const result: { checked: number, mismatches: number, examples: string[] } = { checked: 0, mismatches: 0, examples: [] }
  if (shutDown) return { name: 'every process stops cleanly on SIGTERM (exit 0)', ...result }
  shutDown = true
  const stopOne = async (service: ServiceProcess): Promise<void> => {
    if (!service.isRunning()) return
    const timer = setTimeout(() => { void service.kill('SIGKILL') }, 15_000)
    const exit = await service.kill('SIGTERM')
    clearTimeout(timer)
    result.checked++
    if (exit !== undefined && exit.code !== 0) {
      result.mismatches++
      result.examples.push(`${service.name} exited with ${exit.signal ?? `code ${String(exit.code)}`} on SIGTERM`)
    }
  }
  const gateway = services.get('gateway')
  if (gateway !== undefined) await stopOne(gateway)
  await Promise.all([...services.values()].filter((s) => s.name !== 'gateway').map(stopOne))
  await broker?.close().catch(() => {})
  await proxy?.close()
  if (rabbit?.isRunning() === true) await rabbit.stop().catch((err: unknown) => { say(`could not stop RabbitMQ cleanly: ${(err as Error).message}`); rabbit?.kill() })
  await postgres?.stop()
  stopped = true
  if (KEEP && postgres !== undefined) {
    say(`--keep: the databases are in ${postgres.dataDir}; start that PostgreSQL again with:\n  ${postgres.startCommand}\n  then: psql ${postgres.urlOf(`${runId}_orders`)}`)
    rmSync(join(dataDir, 'rabbitmq'), { recursive: true, force: true })
  } else {
    rmSync(dataDir, { recursive: true, force: true })
  }
  return { name: 'every process stops cleanly on SIGTERM (exit 0)', ...result }
}

const WEBHOOK_SECRET = `whsec-chaos-${randomBytes(16).toString('hex')}`
const STAFF = { username: `${runId}_staff`, email: `${runId}.staff@chaos.test`, password: `Chaos-Staff-${randomBytes(6).toString('hex')}-Pw1!` }

function databasesOf (pg: PrivatePostgres): Databases & { auth: string } {
  return {
    auth: pg.urlOf(`${runId}_auth`),
    orders: pg.urlOf(`${runId}_orders`),
    payments: pg.urlOf(`${runId}_payments`),
    analytics: pg.urlOf(`${runId}_analytics`)
  }
}

/**
 * A process that died by itself is a mismatch (the process check reports it),
 * but the run goes on measuring: it is restarted, as a supervisor would.
 */
function superviseCrash (service: ServiceProcess, exit: Exit): void {
  if (shutDown) return
  const at = Date.now()
  say(`UNEXPECTED: ${service.name} exited by itself (${exit.signal ?? `code ${String(exit.code)}`}); restarting it (see ${service.logFile})`)
  void (async () => {
    for (let attempt = 1; attempt <= 3 && !shutDown; attempt++) {
      await sleep(1000)
      if (service.isRunning()) return
      try {
        await service.start()
        faults.push({ what: `UNEXPECTED exit of ${service.name}, restarted`, at: sinceLoad(at), ms: Date.now() - at, note: `${exit.signal ?? `exit code ${String(exit.code)}`}; ready again (start ${service.starts})` })
        return
      } catch (err) {
        say(`restarting ${service.name} failed: ${(err as Error).message}`)
      }
    }
  })()
}

async function distinctPorts (count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freeLowPort())
  return [...ports]
}

/** Consumers on a queue (0 while it does not exist or the broker is away). */
async function consumers (queue: string): Promise<number> {
  if (broker === undefined) return 0
  try {
    const channel = await broker.createChannel()
    channel.on('error', () => {})
    try { return (await channel.checkQueue(queue)).consumerCount } finally { await channel.close().catch(() => {}) }
  } catch {
    return 0
  }
}

async function queueDepth (queue: string): Promise<number> {
  if (broker === undefined) return -1
  try {
    const channel = await broker.createChannel()
    channel.on('error', () => {})
    try { return (await channel.checkQueue(queue)).messageCount } finally { await channel.close().catch(() => {}) }
  } catch {
    return -1
  }
}

async function waitUntil (what: string, test: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await test()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds(timeoutMs)} s waiting for ${what}`)
    await sleep(200)
  }
}

// ---------------------------------------------------------------------------

async function main (): Promise<number> {
  say('starting a private PostgreSQL and a private RabbitMQ node')
  // (both settle before either failure is thrown, so that shutdown() stops the one that did start)
  const [pgStart, rabbitStart] = await Promise.allSettled([startPrivatePostgres(dataDir, logDir), startPrivateRabbit(dataDir, logDir)])
  if (pgStart.status === 'fulfilled') postgres = pgStart.value
  if (rabbitStart.status === 'fulfilled') rabbit = rabbitStart.value
  if (pgStart.status === 'rejected') throw pgStart.reason
  if (rabbitStart.status === 'rejected') throw rabbitStart.reason
  if (postgres === undefined || rabbit === undefined) throw new Error('unreachable: both servers started')
  say(`PostgreSQL on 127.0.0.1:${postgres.port} (log ${postgres.logFile}); RabbitMQ node ${rabbit.node} on 127.0.0.1:${rabbit.port} (log ${rabbit.logFile})`)
  proxy = await startTcpProxy('127.0.0.1', rabbit.port)
  const prefix = `${runId}.`
  broker = await BrokerConnection.open({ url: rabbit.url, prefix, log: silent, connectionName: 'chaos-run' })

  const dbs = databasesOf(postgres)
  const [authPort, ordersPort, paymentsPort, analyticsPort, gatewayPort, adminPort] = await distinctPorts(6) as [number, number, number, number, number, number]
  const url = (port: number): string => `http://127.0.0.1:${port}`
  const base: NodeJS.ProcessEnv = { ...process.env }
  // the driver's own loader settings are not the services' business
  for (const name of ['NODE_OPTIONS', 'TS_NODE_TRANSPILE_ONLY', 'PORT', 'DATABASE_URL', 'AMQP_URL', 'BROKER_PREFIX']) delete base[name]
  const common: NodeJS.ProcessEnv = {
    ...base,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    AUTH_URL: url(authPort),
    ORDERS_URL: url(ordersPort),
    PAYMENTS_URL: url(paymentsPort),
    ANALYTICS_URL: url(analyticsPort),
    BROKER_PREFIX: prefix,
    AMQP_URL: rabbit.url,
    // load from one address: the limits meant for abuse would throttle it
    REGISTER_MAX_PER_IP: '0',
    ORDER_MAX_PER_USER: '0',
    ORDER_MAX_PER_IP: '0',
    PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET
  }
  const ready = (port: number) => async () => (await statusOf(`${url(port)}/ready`)) === 200
  const add = (name: ServiceName, port: number, env: NodeJS.ProcessEnv, isReady: () => Promise<boolean>): ServiceProcess => {
    const service = startable({ name, port, env: { ...common, ...env, PORT: String(port) }, logDir, ready: isReady, onUnexpectedExit: superviseCrash })
    services.set(name, service)
    return service
  }
  const auth = add('auth', authPort, { DATABASE_URL: dbs.auth, STAFF_USERNAME: STAFF.username, STAFF_EMAIL: STAFF.email, STAFF_PASSWORD: STAFF.password }, ready(authPort))
  const orders = add('orders', ordersPort, { DATABASE_URL: dbs.orders }, ready(ordersPort))
  // payments reaches the broker through the proxy (the 30 s cut)
  const payments = add('payments', paymentsPort, { DATABASE_URL: dbs.payments, AMQP_URL: proxy.urlFor(rabbit.url) }, ready(paymentsPort))
  const analytics = add('analytics', analyticsPort, { DATABASE_URL: dbs.analytics }, ready(analyticsPort))
  const gatewayUrl = url(gatewayPort)
  const adminUrl = url(adminPort)
  // the gateway is up when it proxies (its own /ready is on the admin listener)
  const gateway = add('gateway', gatewayPort, { ADMIN_PORT: String(adminPort) }, async () => (await statusOf(`${gatewayUrl}/api/games/`)) === 200)

  say('starting auth, orders, payments, analytics')
  await Promise.all([auth, orders, payments, analytics].map((s) => s.start()))
  for (const service of ['orders', 'payments', 'analytics']) {
    const { queue } = serviceQueueNames(prefix, service)
    await waitUntil(`a consumer on ${queue}`, async () => (await consumers(queue)) >= 1, 30_000)
  }
  say('starting the gateway')
  await gateway.start()
  const gatewayReady = async (): Promise<number> => await statusOf(`${adminUrl}/ready`)
  say(`the platform is up: gateway ${gatewayUrl} (admin ${adminUrl}, /ready ${await gatewayReady()})`)

  // ---- players
  const registerStarted = Date.now()
  const limiter = new Limiter(8)
  const players: Player[] = await Promise.all(Array.from({ length: PLAYERS }, (_v, i) => limiter.run(async (): Promise<Player> => {
    const username = `${runId}_p${i}`
    const password = `Chaos-${randomBytes(6).toString('hex')}-Pw1!`
    const registered = await call(gatewayUrl, 'POST', '/api/register/', { body: JSON.stringify({ username, email: `${username}@players.chaos.test`, password }) })
    if (registered.status !== 201 || typeof registered.body.id !== 'string') throw new Error(`register ${username}: ${registered.status} ${JSON.stringify(registered.body)}`)
    const login = await call(gatewayUrl, 'POST', '/api/token/', { body: JSON.stringify({ username, password }) })
    if (login.status !== 200 || typeof login.body.access !== 'string') throw new Error(`login ${username}: ${login.status} ${JSON.stringify(login.body)}`)
    return { username, password, id: registered.body.id, token: login.body.access }
  })))
  say(`${players.length} players registered and logged in (${seconds(Date.now() - registerStarted)} s)`)

  const games = await call(gatewayUrl, 'GET', '/api/games/')
  const products: Product[] = []
  for (const game of (Array.isArray(games.body) ? games.body : (games.body.results ?? games.body.games ?? [])) as Array<Record<string, unknown>>) {
    for (const product of (game.products ?? []) as Array<Record<string, unknown>>) {
      products.push({ gamename: String(game.name), gameCode: String(game.game_id), productId: Number(product.id), productName: String(product.name), price: String(product.price) })
    }
  }
  if (products.length === 0) throw new Error(`no products in the catalog: GET /api/games/ answered ${games.status}`)

  // ---- load and faults
  say(`load: ${ORDERS} orders over ${LOAD_SECONDS} s, ${products.length} products`)
  loadStarted = Date.now()
  let loadOver = false
  let placedAt = 0
  let faultsDoneAt = 0
  const load: Load = startLoad({
    gateway: gatewayUrl,
    secret: WEBHOOK_SECRET,
    players,
    products,
    orders: ORDERS,
    seconds: LOAD_SECONDS,
    concurrency: CONCURRENCY,
    seed: SEED,
    runId,
    // retries go on for a while after the last order and the last fault, as a provider's would
    retryDeadline: () => (placedAt === 0 || faultsDoneAt === 0 ? Infinity : Math.max(placedAt, faultsDoneAt) + RETRY_AFTER_LOAD_MS)
  })
  void load.placed.then(() => { placedAt = Date.now() })

  // the gateway's readiness while all this happens (it must never die; 503 while a service is away is fine)
  const readiness: Record<string, number> = {}
  const watch = (async () => {
    while (!loadOver) {
      const code = String(await gatewayReady())
      readiness[code] = (readiness[code] ?? 0) + 1
      await sleep(2000)
    }
  })()

  const at = (fraction: number): Promise<void> => sleep(Math.max(0, loadStarted + fraction * LOAD_SECONDS * 1000 - Date.now()))
  const killAndRestart = async (service: ServiceProcess): Promise<string> => {
    // (after a crash the supervisor may be bringing it back: wait for that first)
    await waitUntil(`${service.name} running`, async () => service.isRunning(), 60_000)
    const pid = service.pid()
    await service.kill('SIGKILL')
    const killed = Date.now()
    await service.start()
    return `pid ${pid ?? '?'} killed; new pid ${service.pid() ?? '?'} ready after ${seconds(Date.now() - killed)} s`
  }
  const rabbitOutage = async (): Promise<string> => {
    if (rabbit === undefined) throw new Error('no broker')
    const broker = rabbit
    const stopping = Date.now()
    await broker.stop()
    const stopped = Date.now()
    await sleep(8000)
    await broker.start()
    return `rabbitmqctl stop took ${seconds(stopped - stopping)} s; down 8 s; booted again in ${seconds(Date.now() - stopped - 8000)} s`
  }
  let burst: BurstResult | undefined
  let burstGatewayAlive = true
  const poison = { orderCreated: `poison-${randomUUID()}`, paymentChanged: `poison-${randomUUID()}` }
  let cutDone: Promise<void> = Promise.resolve()

  const schedule = (async () => {
    await at(0.06)
    await fault('SIGKILL orders, restart', () => killAndRestart(orders))
    await at(0.13)
    await fault('RabbitMQ stop/start #1', rabbitOutage)
    await at(0.21)
    await fault('2 poison messages published', async () => {
      if (broker === undefined) throw new Error('no broker connection')
      const connection = broker
      await waitUntil('the run\'s own broker connection', async () => connection.isConnected(), 30_000)
      // invalid JSON on OrderCreated's key (payments, analytics) and a schema violation on PaymentStatusChanged's (orders, analytics)
      await broker.publish('orders.order-created.v1', Buffer.from('{"not json'), { messageId: poison.orderCreated, type: 'OrderCreated' })
      await broker.publish('payments.payment-status-changed.v1', Buffer.from(JSON.stringify({ id: poison.paymentChanged, type: 'PaymentStatusChanged', version: 1, data: { nonsense: true } })), { messageId: poison.paymentChanged, type: 'PaymentStatusChanged' })
      return `${poison.orderCreated} (bad JSON), ${poison.paymentChanged} (bad schema)`
    })
    await at(0.29)
    const cutAt = Date.now()
    say(`fault: payments cut off from the broker for ${seconds(BROKER_CUT_MS)} s`)
    proxy?.cut()
    cutDone = sleep(BROKER_CUT_MS).then(() => {
      proxy?.restore()
      faults.push({ what: 'payments cut off from RabbitMQ (TCP proxy)', at: sinceLoad(cutAt), ms: Date.now() - cutAt, note: 'connections destroyed, new ones refused, then accepted again' })
      say('fault done: payments reconnected to the broker')
    })
    await at(0.36)
    await fault('malformed/aborted connection burst at the gateway', async () => {
      const token = players[0]?.token ?? ''
      burst = await malformedBurst(gatewayUrl, token)
      await sleep(500)
      // alive, and proxying again within 15 s (a loaded machine may be slow to answer at once)
      const deadline = Date.now() + 15_000
      let answer = 0
      while (gateway.isRunning() && answer !== 200 && Date.now() < deadline) {
        answer = await statusOf(`${gatewayUrl}/api/games/`, 5000)
        if (answer !== 200) await sleep(500)
      }
      burstGatewayAlive = gateway.isRunning() && answer === 200
      return `${burst.connections} connections in ${seconds(burst.ms)} s; gateway ${gateway.isRunning() ? (answer === 200 ? 'alive, proxying' : `alive but GET /api/games/ answered ${answer}`) : 'DEAD'}`
    })
    await cutDone
    await at(0.55)
    await fault('SIGKILL payments, restart', () => killAndRestart(payments))
    await at(0.64)
    await fault('SIGKILL analytics, restart', () => killAndRestart(analytics))
    await at(0.72)
    await fault('PostgreSQL restart (pg_ctl restart -m immediate)', async () => {
      if (postgres === undefined) throw new Error('no database server')
      await postgres.restart('immediate')
      return 'every connection dropped, crash recovery, back'
    })
    await at(0.81)
    await fault('RabbitMQ stop/start #2', rabbitOutage)
    faultsDoneAt = Date.now()
  })()

  await Promise.all([load.placed, schedule])
  say(`all ${load.records.length} orders placed; waiting for the last answers and webhook retries`)
  await load.done
  loadOver = true
  await watch
  const loadMs = Date.now() - loadStarted
  say(`load over after ${seconds(loadMs)} s`)

  // ---- settle: outboxes drained, queues empty, inboxes no longer growing
  const settleStarted = Date.now()
  let last = ''
  let stable = 0
  let settled = false
  while (Date.now() - settleStarted < SETTLE_MS) {
    try {
      const p = await progress(dbs)
      const depths = await Promise.all(['orders', 'payments', 'analytics'].map((s) => queueDepth(serviceQueueNames(prefix, s).queue)))
      const unroutable = await queueDepth(topologyNames(prefix).unroutableQueue)
      const now = JSON.stringify({ ...p, depths, unroutable })
      stable = now === last && p.unsent === 0 && depths.every((d) => d === 0) ? stable + 1 : 0
      last = now
      if (stable >= 3) { settled = true; break }
    } catch (err) {
      last = `error: ${(err as Error).message}`
      stable = 0
    }
    await sleep(1000)
  }
  say(`${settled ? 'settled' : 'NOT settled'} after ${seconds(Date.now() - settleStarted)} s (${last})`)

  // ---- checks
  const s = await snapshot(dbs)
  const checks: Check[] = []
  checks.push({ name: 'everything settled (outboxes drained, queues empty)', checked: 1, mismatches: settled ? 0 : 1, examples: settled ? [] : [`last progress: ${last}`] })
  checks.push(...consistencyChecks(s, load.records, load.stats, load.midBodyKeys))

  const staffLogin = await call(gatewayUrl, 'POST', '/api/token/', { body: JSON.stringify({ username: STAFF.username, password: STAFF.password }) })
  let totals: SummaryTotals | undefined
  let byGame: GameRevenue[] | undefined
  let why = ''
  if (staffLogin.status === 200 && typeof staffLogin.body.access === 'string') {
    const days = s.orders.map((o) => o.day).sort()
    const today = new Date().toISOString().slice(0, 10)
    const start = days[0] ?? today
    const end = days.at(-1) ?? today
    const summary = await call(gatewayUrl, 'GET', `/api/analytics/summary/?start_date=${start}&end_date=${end}`, { token: staffLogin.body.access })
    if (summary.status === 200) {
      totals = summary.body.totals as SummaryTotals
      byGame = summary.body.revenue_by_game as GameRevenue[]
    } else {
      why = `GET /api/analytics/summary/ answered ${summary.status} ${JSON.stringify(summary.body)}`
    }
  } else {
    why = `staff login answered ${staffLogin.status} ${JSON.stringify(staffLogin.body)}`
  }
  checks.push(dashboardCheck(s, totals, byGame, why))
  checks.push(await deadLetterCheck(prefix, { orders: [poison.paymentChanged], payments: [poison.orderCreated], analytics: [poison.orderCreated, poison.paymentChanged] }))

  // processes: only the kills of the run, everything running now, the gateway never died
  const processCheck: Check = { name: 'no process died but those the run killed; all running at the end', checked: 0, mismatches: 0, examples: [] }
  for (const service of services.values()) {
    processCheck.checked++
    const unexpected = service.exits.filter((e) => !e.expected)
    if (unexpected.length > 0 || !service.isRunning()) {
      processCheck.mismatches++
      processCheck.examples.push(`${service.name}: ${unexpected.map((e) => `exited by itself at ${seconds(sinceLoad(e.at))} s (${e.signal ?? `code ${String(e.code)}`})`).join('; ') || 'not running'} (see ${service.logFile})`)
    }
  }
  processCheck.checked++
  if (!burstGatewayAlive) { processCheck.mismatches++; processCheck.examples.push('the gateway was dead, or not proxying within 15 s, after the malformed burst') }
  checks.push(processCheck)
  const finalReady = await gatewayReady()
  checks.push({ name: 'gateway /ready answers 200 at the end', checked: 1, mismatches: finalReady === 200 ? 0 : 1, examples: finalReady === 200 ? [] : [`GET ${adminUrl}/ready answered ${finalReady}`] })
  if (setupProblems.length > 0) checks.push({ name: 'every fault applied as planned', checked: faults.length, mismatches: setupProblems.length, examples: setupProblems.slice(0, 5) })

  checks.push(await shutdown())

  // ---- report
  const st = load.stats
  const gaps = auditGaps(s)
  process.stdout.write(table('Faults (times from the start of the load)', ['fault', 'at s', 'took s', 'note'],
    faults.sort((a, b) => a.at - b.at).map((f) => [f.what, seconds(f.at), seconds(f.ms), f.note])))
  process.stdout.write('\n')
  const statuses = (counter: Record<string, number>): string => Object.entries(counter).sort().map(([k, v]) => `${k}×${v}`).join(' ') || '-'
  process.stdout.write(table('Counts', ['what', 'count'], [
    ['players (registered + logged in)', String(players.length)],
    ['orders placed', String(load.records.length)],
    ['top-up 201 (new order)', String(st.topup.created)],
    ['top-up 201 replayed (same Idempotency-Key after a lost answer)', String(st.topup.replayed)],
    ['top-up answers by status', statuses(st.topup.statuses)],
    ['top-up aborted by the client (AbortController 1-20 ms)', String(st.topup.aborted)],
    ['top-up no answer (connection error/timeout), retried', String(st.topup.noAnswer)],
    ['top-up given up', String(st.topup.gaveUp)],
    ['bodies cut mid-way (raw socket closed/reset)', String(st.midBody)],
    ['webhook 200 changed:true', String(st.webhook.changed)],
    ['webhook 200 changed:false', String(st.webhook.unchanged)],
    ['webhook 404 (not known yet, retried later)', String(st.webhook.notFound)],
    ['webhook 409 (other final status)', String(st.webhook.conflict)],
    ['webhook answers by status', statuses(st.webhook.statuses)],
    ['webhook aborted by the client', String(st.webhook.aborted)],
    ['webhook no answer, retried', String(st.webhook.noAnswer)],
    ['webhook given up', String(st.webhook.gaveUp)],
    ['duplicate webhooks later (expected 200 changed:false)', `${st.duplicates.asExpected}/${st.duplicates.sent}`],
    ['opposite status after settling (expected 409)', `${st.opposites.asExpected}/${st.opposites.sent}`],
    ['concurrent webhook pairs (at most one changed)', `${st.concurrentPairs.asExpected}/${st.concurrentPairs.sent}`],
    ['malformed burst connections', burst === undefined ? '-' : `${burst.connections} (${Object.entries(burst.kinds).map(([k, v]) => `${k} ${v}`).join(', ')})`],
    ['gateway /ready during the load', statuses(readiness)],
    ['orders in the orders database', String(s.orders.length)],
    ['settled transactions without their webhook audit row', `${gaps.length}${gaps.length > 0 ? ` (e.g. ${gaps.slice(0, 2).join(', ')})` : ''}`],
    ['load time / whole run', `${seconds(loadMs)} s / ${seconds(Date.now() - runStarted)} s`]
  ]))
  process.stdout.write('\n')
  if (burst !== undefined) {
    process.stdout.write(table('Malformed burst: what the gateway answered', ['connection kind: first status line', 'count'],
      Object.entries(burst.answers).sort().map(([k, v]) => [k, String(v)])))
    process.stdout.write('\n')
  }
  process.stdout.write(table('Processes (log lines at LOG_LEVEL=warn)', ['process', 'starts', 'died by itself', 'WARN', 'ERROR+', 'most frequent ERROR'],
    [...services.values()].map((p) => {
      const levels = logLevels(p.logFile)
      return [p.name, String(p.starts), String(p.exits.filter((e) => !e.expected).length), String(levels.warn), String(levels.error), levels.topError]
    })))
  process.stdout.write('\n')
  process.stdout.write(table('Checks', ['check', 'checked', 'mismatches'], checks.map((c) => [c.name, String(c.checked), String(c.mismatches)])))
  process.stdout.write('\n')
  for (const c of checks.filter((x) => x.mismatches > 0)) {
    process.stdout.write(`\nMISMATCH ${c.name}:\n${c.examples.map((e) => `  - ${e}`).join('\n')}\n`)
  }
  const mismatches = checks.reduce((sum, c) => sum + c.mismatches, 0)
  const failed = checks.filter((c) => c.mismatches > 0).length
  process.stdout.write(`\nchaos: ${checks.length - failed} checks passed, ${failed} failed (${mismatches} mismatches); logs in ${logDir}\n`)
  return mismatches === 0 ? 0 : 1
}

/** WARN and ERROR/FATAL lines of a pino log file, and the most frequent ERROR message. */
function logLevels (file: string): { warn: number, error: number, topError: string } {
  let text: string
  try { text = readFileSync(file, 'utf8') } catch { return { warn: 0, error: 0, topError: '' } }
  let warn = 0
  let error = 0
  const messages = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    const level = /"level":(\d+)/.exec(line)?.[1]
    if (level === '40') warn++
    if (level === '50' || level === '60') {
      error++
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? '?'
      const type = /"err":\{"type":"([^"]*)"/.exec(line)?.[1]
      const key = type === undefined ? msg : `${msg} (${type})`
      messages.set(key, (messages.get(key) ?? 0) + 1)
    }
  }
  const top = [...messages].sort((a, b) => b[1] - a[1])[0]
  return { warn, error, topError: top === undefined ? '' : `${top[0]} ×${top[1]}` }
}

/** Each dead-letter queue holds exactly the poison messages sent on purpose. */
async function deadLetterCheck (prefix: string, expected: Record<'orders' | 'payments' | 'analytics', string[]>): Promise<Check> {
  const result: Check = { name: 'dead-letter queues hold only the poison sent on purpose', checked: 0, mismatches: 0, examples: [] }
  if (broker === undefined) return { ...result, mismatches: 1, examples: ['no broker connection'] }
  for (const [service, ids] of Object.entries(expected)) {
    const { deadLetterQueue } = serviceQueueNames(prefix, service)
    const found: string[] = []
    const strangers: string[] = []
    try {
      const channel = await broker.createChannel()
      channel.on('error', () => {})
      try {
        for (;;) {
          const message = await channel.get(deadLetterQueue, { noAck: false })
          if (message === false) break
          const id = String(message.properties.messageId ?? '')
          found.push(id)
          if (!ids.includes(id)) {
            const headers = message.properties.headers ?? {}
            strangers.push(`${id} ${String(message.fields.routingKey)} (${String(headers['x-first-death-reason'] ?? '')}) ${message.content.toString('utf8').slice(0, 160)}`)
          }
        }
      } finally {
        // left there (unacked → requeued on close): the broker is thrown away anyway
        await channel.close().catch(() => {})
      }
    } catch (err) {
      strangers.push(`could not read ${deadLetterQueue}: ${(err as Error).message}`)
    }
    result.checked += Math.max(found.length, ids.length)
    const missing = ids.filter((id) => !found.includes(id))
    const twice = ids.filter((id) => found.filter((f) => f === id).length > 1)
    if (missing.length > 0) { result.mismatches += missing.length; result.examples.push(`${deadLetterQueue}: poison ${missing.join(', ')} not there`) }
    if (twice.length > 0) { result.mismatches += twice.length; result.examples.push(`${deadLetterQueue}: poison ${twice.join(', ')} more than once`) }
    if (strangers.length > 0) {
      result.mismatches += strangers.length
      result.examples.push(`${deadLetterQueue}: ${strangers.length} unexpected message(s), e.g. ${strangers.slice(0, 2).join(' | ')}`)
    }
  }
  return result
}

main().then(async (code) => {
  process.exit(code)
}, async (err: unknown) => {
  say(`the run itself failed: ${(err as Error).stack ?? String(err)}`)
  await shutdown().catch(() => {})
  say(`logs in ${logDir}`)
  process.exit(1)
})
