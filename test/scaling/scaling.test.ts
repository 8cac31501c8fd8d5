/**
 * Horizontal scaling, as an operator runs it: every service is its own
 * `node services/<name>/dist/src/server.js` process (build first: `npm run
 * build`), auth ×1, orders ×3, payments ×2, analytics ×2 and the gateway with
 * the *_URLS lists, each service on a throwaway database shared by its
 * instances, all on the real RabbitMQ under a prefix of their own.
 *
 * Players place top-ups and the payment provider settles them through the
 * gateway while one orders and one payments instance are killed (SIGKILL).
 * Clients retry what failed at the kill moment like real clients do (the same
 * Idempotency-Key for a top-up; the webhook is idempotent). At the end every
 * order the client got a 201 for exists exactly once in orders, payments and
 * analytics, in the same final state, and nothing else exists.
 *
 * Who did what, counted honestly:
 *  - requests per instance: the "request completed" lines of each process's own
 *    access log (probes of /ready, /health and /openapi.json left out);
 *  - events per instance: each instance connects with its own
 *    `application_name` in DATABASE_URL, and a trigger this test adds to the
 *    (throwaway) `inbox` tables records which connection inserted each inbox
 *    row, i.e. which instance applied the event (an inbox row is written in
 *    the same transaction as the event's effect, once per event).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import t from 'tap'
import { BrokerConnection, deleteTopology, serviceQueueNames, type Logger } from '@topup/messaging'
import { createTestDatabase, freeLowPort, rabbitUrl, uniqueName } from '@topup/service-kit/testing'
import { exampleTopupRequest } from '../../services/orders/dist/src/routes/topup/schemas.js'
import { signPayload } from '../../services/payments/dist/src/signature.js'

/** Orders placed (and settled). 2000 runs in well under two minutes on 2 cores. */
const ORDERS = Number(process.env.SCALING_ORDERS ?? 2000)
const PLAYERS = 50
const CONCURRENCY = 20
const SCALE = { auth: 1, orders: 3, payments: 2, analytics: 2 } as const
type Service = keyof typeof SCALE
const CONSUMERS: readonly Service[] = ['orders', 'payments', 'analytics']

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const silent: Logger = { debug () {}, info () {}, warn () {}, error () {} }

interface Proc {
  name: string
  service: Service | 'gateway'
  url: string
  /** Where its /ready answers: its own port, or the gateway's admin listener. */
  adminUrl: string
  child: ChildProcess
  lines: string[]
  exited: Promise<void>
  done: boolean
  killed: boolean
}

function withApplicationName (url: string, name: string): string {
  const u = new URL(url)
  u.searchParams.set('application_name', name)
  return u.toString()
}

async function waitUntil<T> (what: string, timeoutMs: number, fn: () => Promise<T | undefined | false>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await fn()
      if (value !== undefined && value !== false) return value
      last = undefined
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`)
    await sleep(intervalMs)
  }
}

/** What a client does on a transient failure: wait a little, then again. */
async function withRetries<T> (what: string, attempt: (n: number) => Promise<{ done: true, value: T } | { done: false, why: string }>, maxAttempts = 40): Promise<T> {
  let why = ''
  for (let n = 1; n <= maxAttempts; n++) {
    try {
      const result = await attempt(n)
      if (result.done) return result.value
      why = result.why
    } catch (err) {
      why = (err as Error).message // the connection to the gateway itself failed
    }
    await sleep(Math.min(50 * n, 500))
  }
  throw new Error(`${what}: gave up after ${maxAttempts} attempts (${why})`)
}

t.test('scaled services share the work through the gateway; killing instances loses and duplicates nothing', async (t) => {
  const started = Date.now()
  const procs: Proc[] = []
  const cleanups = { broker: [] as Array<() => Promise<void>>, databases: [] as Array<() => unknown> }

  // processes first (gateway, then the services), then the broker names, then the databases
  t.teardown(async () => {
    const stop = async (group: Proc[]): Promise<void> => {
      for (const p of group) if (!p.done) p.child.kill('SIGTERM')
      await Promise.race([Promise.all(group.map(async (p) => { await p.exited })), sleep(10_000)])
      for (const p of group) if (!p.done) p.child.kill('SIGKILL')
      await Promise.all(group.map(async (p) => { await p.exited }))
    }
    await stop(procs.filter((p) => p.service === 'gateway'))
    await stop(procs.filter((p) => p.service !== 'gateway'))
    for (const fn of [...cleanups.broker, ...cleanups.databases]) {
      try { await fn() } catch (err) { t.comment(`cleanup: ${(err as Error).message}`) }
    }
  })

  const amqpUrl = await rabbitUrl()
  const prefix = `${uniqueName('scale')}.`
  const webhookSecret = `whsec-${randomBytes(16).toString('hex')}`
  const staff = { username: `staff_${randomBytes(3).toString('hex')}`, email: 'staff@scaling.test', password: `St4ff-${randomBytes(8).toString('hex')}` }

  const broker = await BrokerConnection.open({ url: amqpUrl, prefix, log: silent, connectionName: 'scaling-test' })
  cleanups.broker.push(async () => {
    const channel = await broker.createChannel()
    try {
      await deleteTopology(channel, prefix, [...CONSUMERS])
    } finally {
      await channel.close().catch(() => {})
      await broker.close()
    }
  })

  const databaseTeardown = { teardown: (fn: () => unknown) => { cleanups.databases.push(fn) } }
  const databases: Record<Service, string> = {
    auth: await createTestDatabase(databaseTeardown, 'scale_auth'),
    orders: await createTestDatabase(databaseTeardown, 'scale_orders'),
    payments: await createTestDatabase(databaseTeardown, 'scale_payments'),
    analytics: await createTestDatabase(databaseTeardown, 'scale_analytics')
  }

  function start (name: string, service: Service | 'gateway', port: number, env: Record<string, string>): Proc {
    const child = spawn(process.execPath, [join(ROOT, 'services', service, 'dist', 'src', 'server.js')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        PORT: String(port),
        // the limits per address and per player have tests of their own
        REGISTER_MAX_PER_IP: '0',
        ORDER_MAX_PER_USER: '0',
        ORDER_MAX_PER_IP: '0',
        ...env
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const adminUrl = env.ADMIN_PORT === undefined ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${env.ADMIN_PORT}`
    const proc: Proc = { name, service, url: `http://127.0.0.1:${port}`, adminUrl, child, lines: [], done: false, killed: false, exited: Promise.resolve() }
    let partial = ''
    const collect = (chunk: Buffer): void => {
      const text = partial + chunk.toString('utf8')
      const parts = text.split('\n')
      partial = parts.pop() ?? ''
      proc.lines.push(...parts.filter((l) => l !== ''))
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    proc.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        proc.done = true
        if (partial !== '') proc.lines.push(partial)
        if (!proc.killed && code !== 0) proc.lines.push(`[exited with ${signal ?? `code ${code ?? '?'}`}]`)
        resolve()
      })
    })
    procs.push(proc)
    return proc
  }

  const tail = (p: Proc, n = 15): string => `${p.name}:\n  ${p.lines.slice(-n).join('\n  ')}`
  /** Until the process answers 200 on /ready; gives up at once when it exits (its output is then complete). */
  async function ready (p: Proc): Promise<void> {
    const deadline = Date.now() + 60_000
    for (;;) {
      if (p.done) throw new Error(`${p.name} exited\n${tail(p)}`)
      // a bounded wait: whatever else may hold the port need not answer at all
      const response = await fetch(`${p.adminUrl}/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined)
      if (response?.status === 200) return
      if (Date.now() > deadline) throw new Error(`timed out after 60 s waiting for ${p.name} /ready\n${tail(p)}`)
      await sleep(100)
    }
  }
  /**
   * Starts a process on a free port and waits until it is ready. The port can be
   * taken between our check and the child's bind: then another port.
   */
  async function launch (name: string, service: Service | 'gateway', env: Record<string, string>): Promise<Proc> {
    for (let attempt = 1; ; attempt++) {
      const port = await freeLowPort(20_000, 32_000)
      const admin: Record<string, string> = service === 'gateway' ? { ADMIN_PORT: String(await freeLowPort(20_000, 32_000)) } : {}
      const p = start(name, service, port, { ...env, ...admin })
      try {
        await ready(p)
        return p
      } catch (err) {
        const portTaken = p.done && p.lines.some((l) => l.includes('EADDRINUSE'))
        if (!portTaken || attempt === 5) throw err
        procs.splice(procs.indexOf(p), 1)
        t.comment(`${name}: port ${port} was taken before it could listen; trying another`)
      }
    }
  }

  // --- the services -------------------------------------------------------------
  const auth = await launch('auth', 'auth', {
    DATABASE_URL: withApplicationName(databases.auth, 'auth'),
    STAFF_USERNAME: staff.username,
    STAFF_EMAIL: staff.email,
    STAFF_PASSWORD: staff.password
  })
  const common = { AMQP_URL: amqpUrl, BROKER_PREFIX: prefix, AUTH_URL: auth.url }

  const instances: Record<Service, Proc[]> = { auth: [auth], orders: [], payments: [], analytics: [] }
  await Promise.all(CONSUMERS.flatMap((service) => Array.from({ length: SCALE[service] }, async (_, i) => {
    const name = `${service}#${i + 1}`
    instances[service][i] = await launch(name, service, {
      ...common,
      DATABASE_URL: withApplicationName(databases[service], name),
      ...(service === 'payments' ? { PAYMENT_WEBHOOK_SECRET: webhookSecret } : {}),
      ...(service === 'orders' ? { DEMO_CATALOG: 'true' } : {})
    })
  })))

  const urls = (service: Service): string => instances[service].map((p) => p.url).join(',')
  const gateway = await launch('gateway', 'gateway', {
    AUTH_URLS: urls('auth'),
    ORDERS_URLS: urls('orders'),
    PAYMENTS_URLS: urls('payments'),
    ANALYTICS_URLS: urls('analytics'),
    LOG_LEVEL: 'warn'
  })
  const all = [...Object.values(instances).flat(), gateway]
  t.teardown(() => {
    if (t.passing()) return
    // on failure: what each process said last
    t.comment(all.map((p) => tail(p, 25)).join('\n'))
  })

  // every consumer subscribed before the first event
  const checkChannel = await broker.createChannel()
  checkChannel.on('error', () => {})
  for (const service of CONSUMERS) {
    const { queue } = serviceQueueNames(prefix, service)
    await waitUntil(`${SCALE[service]} consumers on ${queue}`, 30_000, async () => {
      const { consumerCount } = await checkChannel.checkQueue(queue)
      return consumerCount >= SCALE[service]
    })
  }
  await checkChannel.close().catch(() => {})

  // which instance applied each event: a row per inbox insert, with the inserting connection's name
  const pools: Record<Service, pg.Pool> = {
    auth: new pg.Pool({ connectionString: databases.auth, max: 2 }),
    orders: new pg.Pool({ connectionString: databases.orders, max: 2 }),
    payments: new pg.Pool({ connectionString: databases.payments, max: 2 }),
    analytics: new pg.Pool({ connectionString: databases.analytics, max: 2 })
  }
  cleanups.databases.unshift(async () => { await Promise.all(Object.values(pools).map(async (p) => { await p.end() })) })
  for (const service of CONSUMERS) {
    await pools[service].query(`
      CREATE TABLE scaling_applied (event_id uuid PRIMARY KEY, type text NOT NULL, instance text NOT NULL);
      CREATE FUNCTION scaling_note_applier() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO scaling_applied (event_id, type, instance) VALUES (NEW.event_id, NEW.type, current_setting('application_name'));
        RETURN NEW;
      END $$;
      CREATE TRIGGER scaling_note_applier AFTER INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION scaling_note_applier();`)
  }
  t.comment(`started ${all.length} processes in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  // --- the clients ----------------------------------------------------------------
  const G = gateway.url
  const clientRetries = { topup: 0, webhook: 0, webhookNotYet: 0, other: 0 }

  async function call (method: string, path: string, options: { token?: string, body?: string, headers?: Record<string, string> } = {}): Promise<{ status: number, json: Record<string, unknown> }> {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${G}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: options.body }) })
    const text = await response.text()
    let json: Record<string, unknown> = {}
    try { json = JSON.parse(text) as Record<string, unknown> } catch { /* not JSON */ }
    return { status: response.status, json }
  }
  const transient = (status: number): boolean => status === 502 || status === 503 || status === 504

  const players = await Promise.all(Array.from({ length: PLAYERS }, async (_, i) => {
    const username = `player${i}_${randomBytes(3).toString('hex')}`
    const password = `Pl4yer-${randomBytes(8).toString('hex')}`
    await withRetries(`register ${username}`, async () => {
      const res = await call('POST', '/api/register/', { body: JSON.stringify({ username, email: `${username}@scaling.test`, password }) })
      if (res.status === 201) return { done: true, value: undefined }
      if (transient(res.status)) { clientRetries.other++; return { done: false, why: `HTTP ${res.status}` } }
      throw new Error(`register ${username}: HTTP ${res.status} ${JSON.stringify(res.json)}`)
    })
    return await withRetries(`login ${username}`, async () => {
      const res = await call('POST', '/api/token/', { body: JSON.stringify({ username, password }) })
      if (res.status === 200) return { done: true, value: String(res.json.access) }
      if (transient(res.status)) { clientRetries.other++; return { done: false, why: `HTTP ${res.status}` } }
      throw new Error(`login ${username}: HTTP ${res.status} ${JSON.stringify(res.json)}`)
    })
  }))

  const topupBody = JSON.stringify(exampleTopupRequest)
  const expected = (i: number): 'success' | 'failed' => i % 4 === 3 ? 'failed' : 'success'
  const created = new Map<string, { transactionId: string, status: 'success' | 'failed' }>()
  let completed = 0
  const kills: string[] = []
  const kill = (p: Proc | undefined, at: number): void => {
    if (p === undefined || p.done) return
    p.killed = true
    p.child.kill('SIGKILL')
    kills.push(`${p.name} at order ${at}`)
  }

  async function placeAndSettle (i: number): Promise<void> {
    const token = players[i % PLAYERS] ?? ''
    const key = `scaling-${i}`
    const order = await withRetries(`top-up ${i}`, async (attempt) => {
      if (attempt > 1) clientRetries.topup++
      const res = await call('POST', '/api/topup/', { token, body: topupBody, headers: { 'idempotency-key': key } })
      if (res.status === 201) return { done: true, value: { orderId: String(res.json.order_id), transactionId: String(res.json.transaction_id) } }
      if (transient(res.status)) return { done: false, why: `HTTP ${res.status}` }
      throw new Error(`top-up ${i}: HTTP ${res.status} ${JSON.stringify(res.json)}`)
    })
    const status = expected(i)
    if (created.has(order.orderId)) throw new Error(`order ${order.orderId} answered twice`)
    created.set(order.orderId, { transactionId: order.transactionId, status })
    const raw = JSON.stringify({ transaction_id: order.transactionId, status })
    await withRetries(`webhook ${i}`, async () => {
      const res = await call('POST', '/api/payment/webhook/', { body: raw, headers: { 'x-topup-signature': signPayload(webhookSecret, raw, Math.floor(Date.now() / 1000)) } })
      if (res.status === 200) return { done: true, value: undefined }
      // 404: payments has not consumed the OrderCreated yet (the documented "retry later")
      if (res.status === 404) { clientRetries.webhookNotYet++; return { done: false, why: 'transaction not known yet' } }
      if (transient(res.status)) { clientRetries.webhook++; return { done: false, why: `HTTP ${res.status}` } }
      throw new Error(`webhook ${i}: HTTP ${res.status} ${JSON.stringify(res.json)}`)
    }, 200)
    completed++
    if (completed === Math.floor(ORDERS / 3)) kill(instances.orders[1], completed)
    if (completed === Math.floor(ORDERS / 2)) kill(instances.payments[1], completed)
  }

  const loadStarted = Date.now()
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < ORDERS) await placeAndSettle(next++)
  }))
  // the dashboard page, served by the analytics instances
  const pages = []
  for (let i = 0; i < 20; i++) pages.push((await call('GET', '/api/dashboard/')).status)
  t.same(pages, pages.map(() => 200), 'the dashboard page, 20 times')
  const loadSeconds = (Date.now() - loadStarted) / 1000
  t.equal(created.size, ORDERS, `${ORDERS} top-ups answered 201, each a different order`)
  t.same(kills.length, 2, `killed mid-run: ${kills.join(', ')}`)

  // --- every order once, everywhere, in its final state -------------------------------
  const wantIds = [...created.keys()].sort()
  type Row = { id: string, status: string }
  const rows = async (service: Service, sql: string): Promise<Row[]> => (await pools[service].query<Row>(sql)).rows
  const settledEverywhere = async (): Promise<Record<'orders' | 'payments' | 'analytics', Row[]> | false> => {
    const [o, p, a] = await Promise.all([
      rows('orders', 'SELECT id::text AS id, status FROM orders'),
      rows('payments', 'SELECT order_id::text AS id, status FROM transactions'),
      rows('analytics', 'SELECT order_id::text AS id, status FROM order_facts WHERE created_at IS NOT NULL')
    ])
    const final = (r: Row[]): boolean => r.length >= ORDERS && r.every((x) => x.status !== 'pending')
    return final(o) && final(p) && final(a) ? { orders: o, payments: p, analytics: a } : false
  }
  const settled = await waitUntil('every order settled in orders, payments and analytics', 60_000, settledEverywhere, 500)
  const want = Object.fromEntries(wantIds.map((id) => [id, created.get(id)?.status]))
  for (const service of ['orders', 'payments', 'analytics'] as const) {
    const found = settled[service]
    t.equal(found.length, ORDERS, `${service}: exactly ${ORDERS} rows (no order twice, none the client did not get)`)
    t.equal(new Set(found.map((r) => r.id)).size, found.length, `${service}: no order twice`)
    t.same(Object.fromEntries(found.map((r) => [r.id, r.status]).sort()), want, `${service}: every order the client got, in the status of its webhook`)
  }
  const analyticsRows = await rows('analytics', 'SELECT order_id::text AS id, status FROM order_facts')
  t.equal(analyticsRows.length, ORDERS, 'analytics: no partial row left over')

  // nothing left behind in the queues or the dead-letter queues
  const channel = await broker.createChannel()
  channel.on('error', () => {})
  for (const service of CONSUMERS) {
    const names = serviceQueueNames(prefix, service)
    const { messageCount } = await channel.checkQueue(names.deadLetterQueue)
    t.equal(messageCount, 0, `${service}: nothing dead-lettered`)
  }
  await channel.close().catch(() => {})

  // --- who did the work ------------------------------------------------------------------
  const probe = /^\/(ready|health|openapi\.json)(\?|$)/
  const requestsOf = (p: Proc): number => p.lines.filter((line) => {
    if (!line.includes('"request completed"')) return false
    try {
      const url = (JSON.parse(line) as { req?: { url?: string } }).req?.url ?? ''
      return !probe.test(url)
    } catch { return false }
  }).length
  const applied = new Map<string, number>()
  for (const service of CONSUMERS) {
    for (const row of (await pools[service].query<{ instance: string, n: string }>('SELECT instance, count(*) AS n FROM scaling_applied GROUP BY instance')).rows) {
      applied.set(row.instance, Number(row.n))
    }
    const total = Number((await pools[service].query<{ n: string }>('SELECT count(*) AS n FROM inbox')).rows[0]?.n ?? 0)
    const noted = Number((await pools[service].query<{ n: string }>('SELECT count(*) AS n FROM scaling_applied')).rows[0]?.n ?? 0)
    t.equal(noted, total, `${service}: every applied event attributed to an instance`)
    t.equal(total, service === 'analytics' ? 2 * ORDERS : ORDERS, `${service}: each event applied once (${total})`)
  }
  const report: string[] = []
  for (const p of Object.values(instances).flat()) {
    const requests = requestsOf(p)
    const events = applied.get(p.name)
    t.ok(requests > 0, `${p.name} served requests (${requests})`)
    if (p.service !== 'auth') t.ok((events ?? 0) > 0, `${p.name} applied events (${events ?? 0})`)
    report.push(`${p.name}${p.killed ? ' (killed)' : ''}: ${requests} requests${p.service === 'auth' ? '' : `, ${events ?? 0} events`}`)
  }
  const gatewayReady = await (await fetch(`${gateway.adminUrl}/ready`)).json() as { checks: Record<string, unknown> }
  t.match(gatewayReady.checks.orders, { ready: '2/3' }, 'the gateway reports the killed orders instance')
  t.match(gatewayReady.checks.payments, { ready: '1/2' }, 'the gateway reports the killed payments instance')

  t.comment(`${ORDERS} orders by ${PLAYERS} players, ${CONCURRENCY} at a time: placed and settled in ${loadSeconds.toFixed(1)} s; ` +
    `killed ${kills.join(' and ')}; client retries: ${clientRetries.topup} top-ups, ${clientRetries.webhook} webhooks after a 5xx, ` +
    `${clientRetries.webhookNotYet} webhooks answered 404 (not consumed yet), ${clientRetries.other} other`)
  t.comment(`per instance: ${report.join('; ')}`)
  t.comment(`whole test so far ${((Date.now() - started) / 1000).toFixed(1)} s`)
})
