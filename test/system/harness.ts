/**
 * The whole platform in one process, for system tests: auth, orders and
 * payments (each its own throwaway database) and the gateway in front, on
 * real HTTP ports of 127.0.0.1, talking through the real RabbitMQ under a
 * broker prefix of their own.
 *
 * The services are loaded from their build output (`services/<name>/dist`):
 * build first (`npx tsc -b tsconfig.build.json`; `npm test` does it). Their
 * sources cannot share one TypeScript program: each augments
 * `FastifyInstance.db` with its own Database type.
 */
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Kysely } from 'kysely'
import { BrokerConnection, deleteTopology, serviceQueueNames, type Logger } from '@topup/messaging'
import type { App } from '@topup/service-kit'
import { closedUrl, createTestDatabase, LogCapture, rabbitUrl, uniqueName } from '@topup/service-kit/testing'
import { buildApp as buildAuth } from '../../services/auth/dist/src/app.js'
import { loadAuthConfig } from '../../services/auth/dist/src/config.js'
import { buildApp as buildGateway } from '../../services/gateway/dist/src/app.js'
import { loadGatewayConfig } from '../../services/gateway/dist/src/config.js'
import { buildApp as buildOrders } from '../../services/orders/dist/src/app.js'
import { loadOrdersConfig } from '../../services/orders/dist/src/config.js'
import type { Database as OrdersDatabase } from '../../services/orders/dist/src/db/schema.js'
import { exampleTopupRequest } from '../../services/orders/dist/src/routes/topup/schemas.js'
import { buildApp as buildPayments } from '../../services/payments/dist/src/app.js'
import { loadPaymentsConfig } from '../../services/payments/dist/src/config.js'
import type { Database as PaymentsDatabase } from '../../services/payments/dist/src/db/schema.js'
import { signPayload } from '../../services/payments/dist/src/signature.js'
import { buildApp as buildAnalytics } from '../../services/analytics/dist/src/app.js'
import { loadAnalyticsConfig } from '../../services/analytics/dist/src/config.js'
import type { Database as AnalyticsDatabase } from '../../services/analytics/dist/src/db/schema.js'

export type { AnalyticsDatabase, OrdersDatabase, PaymentsDatabase }

export interface Teardown { teardown: (fn: () => unknown) => void }

type Env = Record<string, string>

export interface SystemOptions {
  /** Broker URL per service (e.g. through a TCP proxy the test owns); default the test broker. */
  amqpUrl?: { orders?: string, payments?: string }
  /** Instances of a service on the same database and queue (default 1 each). */
  instances?: { orders?: number, payments?: number }
  /** Extra environment per service (LOG_LEVEL: 'trace', ...). */
  env?: { auth?: Env, orders?: Env, payments?: Env, analytics?: Env, gateway?: Env, all?: Env }
  /** Run the analytics service too (default true). */
  analytics?: boolean
  /** How long to wait for the consumers to be subscribed. Default 20 s. */
  startTimeoutMs?: number
}

export interface Instance<DB = unknown> {
  app: App
  /** The service's database through the app's own pool. */
  db: Kysely<DB>
  url: string
  logs: LogCapture
}

export interface HttpResult<B = Record<string, unknown>> {
  status: number
  body: B
  text: string
  headers: Headers
}

export interface TopupBody {
  message?: string
  order_id: string
  transaction_id: string
  status: string
}

export interface Registered { id: string, username: string, email: string, password: string }
export interface Tokens { access: string, refresh: string }

export interface WaitOptions { timeoutMs?: number, intervalMs?: number, what?: string }

export interface System {
  /** Base URL of the gateway: every client call goes here. */
  url: string
  prefix: string
  amqpUrl: string
  webhookSecret: string
  auth: Instance
  orders: Array<Instance<OrdersDatabase>>
  payments: Array<Instance<PaymentsDatabase>>
  /** null when started with `analytics: false`. */
  analytics: Instance<AnalyticsDatabase> | null
  /** `adminUrl`: the gateway's own /health, /ready, /metrics, /openapi.json (not on the public port). */
  gateway: { app: App, url: string, adminUrl: string, logs: LogCapture }
  /** The test's own broker connection (same prefix): publish, inspect queues. */
  broker: BrokerConnection
  /** Every captured log line of every service, gateway included. */
  allLogs: () => string
  http: <B = Record<string, unknown>>(method: string, path: string, options?: { token?: string, body?: unknown, headers?: Record<string, string>, baseUrl?: string }) => Promise<HttpResult<B>>
  register: (username: string) => Promise<Registered>
  login: (username: string) => Promise<Tokens>
  topup: (token: string, body?: Record<string, unknown>, options?: { baseUrl?: string, idempotencyKey?: string }) => Promise<HttpResult<TopupBody>>
  pay: (transactionId: string, status: 'success' | 'failed', options?: { baseUrl?: string, secret?: string }) => Promise<HttpResult>
  waitFor: <T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, options?: WaitOptions) => Promise<T>
}

/** docs/DESIGN.md §2.1's example request, against the demo catalog. */
export const demoTopup = exampleTopupRequest

const silent: Logger = { debug () {}, info () {}, warn () {}, error () {} }

/** The app's `db` decorator (each service's declaration of it stays in its own build). */
function dbOf<DB> (app: App): Kysely<DB> {
  return (app as unknown as { db: Kysely<DB> }).db
}

function baseUrlOf (app: App): string {
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

export async function waitFor<T> (fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const intervalMs = options.intervalMs ?? 25
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await fn()
      if (value !== undefined && value !== null && value !== false) return value
      lastError = undefined
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}${why}`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Consumers subscribed to a service's queue (0 while the queue does not exist). */
export async function consumerCount (broker: BrokerConnection, queue: string): Promise<number> {
  const channel = await broker.createChannel()
  channel.on('error', () => {})
  try {
    const { consumerCount } = await channel.checkQueue(queue)
    return consumerCount
  } catch {
    return 0
  } finally {
    await channel.close().catch(() => {})
  }
}

/**
 * Starts the system; everything is closed when the test ends: the gateway
 * first, then the services, then the broker names of the prefix, then the
 * databases.
 */
export async function startSystem (t: Teardown, options: SystemOptions = {}): Promise<System> {
  const cleanups = { gateway: [] as Array<() => Promise<void>>, services: [] as Array<() => Promise<void>>, broker: [] as Array<() => Promise<void>>, databases: [] as Array<() => unknown> }
  t.teardown(async () => {
    const errors: unknown[] = []
    for (const step of [cleanups.gateway, cleanups.services, cleanups.broker, cleanups.databases]) {
      const results = await Promise.allSettled(step.map(async (fn) => { await fn() }))
      for (const r of results) if (r.status === 'rejected') errors.push(r.reason)
    }
    if (errors.length > 0) throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]))
  })
  const databaseTeardown: Teardown = { teardown: (fn) => { cleanups.databases.push(fn) } }

  const amqpUrl = await rabbitUrl()
  const prefix = `${uniqueName('sys')}.`
  const webhookSecret = `whsec-${randomBytes(16).toString('hex')}`
  const env = options.env ?? {}
  // the per-address and per-player limits are off: every test client is 127.0.0.1,
  // and the limits have tests of their own (a test sets them through env)
  const common = { NODE_ENV: 'test', LOG_LEVEL: 'info', REGISTER_MAX_PER_IP: '0', ORDER_MAX_PER_USER: '0', ORDER_MAX_PER_IP: '0', ...env.all }
  const ordersCount = options.instances?.orders ?? 1
  const paymentsCount = options.instances?.payments ?? 1

  const broker = await BrokerConnection.open({ url: amqpUrl, prefix, log: silent, connectionName: 'system-test' })
  cleanups.broker.push(async () => {
    const channel = await broker.createChannel()
    try {
      await deleteTopology(channel, prefix, ['orders', 'payments', 'analytics'])
    } finally {
      await channel.close().catch(() => {})
      await broker.close()
    }
  })

  const withAnalytics = options.analytics ?? true
  const [authDb, ordersDb, paymentsDb, analyticsDb] = await Promise.all([
    createTestDatabase(databaseTeardown, 'sys_auth'),
    createTestDatabase(databaseTeardown, 'sys_orders'),
    createTestDatabase(databaseTeardown, 'sys_payments'),
    withAnalytics ? createTestDatabase(databaseTeardown, 'sys_analytics') : Promise.resolve('')
  ])

  async function listen (app: App): Promise<string> {
    cleanups.services.push(async () => { await app.close() })
    await app.listen({ host: '127.0.0.1', port: 0 })
    return baseUrlOf(app)
  }

  const authLogs = new LogCapture()
  const authApp = await buildAuth(loadAuthConfig({ ...common, DATABASE_URL: authDb, ...env.auth }), { logStream: authLogs })
  const authUrl = await listen(authApp)
  const auth: Instance = { app: authApp, db: dbOf<unknown>(authApp), url: authUrl, logs: authLogs }

  const orders: Array<Instance<OrdersDatabase>> = []
  for (let i = 0; i < ordersCount; i++) {
    const logs = new LogCapture()
    const app = await buildOrders(loadOrdersConfig({
      ...common,
      DATABASE_URL: ordersDb,
      AMQP_URL: options.amqpUrl?.orders ?? amqpUrl,
      BROKER_PREFIX: prefix,
      AUTH_URL: authUrl,
      ...env.orders
    }), { logStream: logs })
    const url = await listen(app)
    orders.push({ app, db: dbOf<OrdersDatabase>(app), url, logs })
  }

  const payments: Array<Instance<PaymentsDatabase>> = []
  for (let i = 0; i < paymentsCount; i++) {
    const logs = new LogCapture()
    const app = await buildPayments(loadPaymentsConfig({
      ...common,
      DATABASE_URL: paymentsDb,
      AMQP_URL: options.amqpUrl?.payments ?? amqpUrl,
      BROKER_PREFIX: prefix,
      AUTH_URL: authUrl,
      PAYMENT_WEBHOOK_SECRET: webhookSecret,
      ...env.payments
    }), { logStream: logs })
    const url = await listen(app)
    payments.push({ app, db: dbOf<PaymentsDatabase>(app), url, logs })
  }

  let analytics: Instance<AnalyticsDatabase> | null = null
  if (withAnalytics) {
    const logs = new LogCapture()
    const app = await buildAnalytics(loadAnalyticsConfig({
      ...common,
      DATABASE_URL: analyticsDb,
      AMQP_URL: amqpUrl,
      BROKER_PREFIX: prefix,
      AUTH_URL: authUrl,
      ...env.analytics
    }), { logStream: logs })
    const analyticsUrl = await listen(app)
    analytics = { app, db: dbOf<AnalyticsDatabase>(app), url: analyticsUrl, logs }
  }

  const gatewayLogs = new LogCapture()
  const gatewayApp = buildGateway(loadGatewayConfig({
    ...common,
    AUTH_URL: authUrl,
    ORDERS_URL: orders[0]?.url ?? '',
    PAYMENTS_URL: payments[0]?.url ?? '',
    ANALYTICS_URL: analytics?.url ?? await closedUrl(),
    ADMIN_PORT: '0',
    ...env.gateway
  }), { logStream: gatewayLogs })
  cleanups.gateway.push(async () => { await gatewayApp.close() })
  await gatewayApp.listen({ host: '127.0.0.1', port: 0 })
  const url = baseUrlOf(gatewayApp)

  // An event published before its consumer's queue exists goes to the
  // unroutable queue, not to the consumer: wait for every consumer.
  const startTimeoutMs = options.startTimeoutMs ?? 20_000
  for (const [service, count] of [['orders', ordersCount], ['payments', paymentsCount], ['analytics', withAnalytics ? 1 : 0]] as const) {
    const { queue } = serviceQueueNames(prefix, service)
    await waitFor(async () => (await consumerCount(broker, queue)) >= count, { timeoutMs: startTimeoutMs, intervalMs: 50, what: `${count} consumer(s) on ${queue}` })
  }

  const passwords = new Map<string, string>()

  const http: System['http'] = async <B>(method: string, path: string, opts: { token?: string, body?: unknown, headers?: Record<string, string>, baseUrl?: string } = {}) => {
    const headers: Record<string, string> = { ...opts.headers }
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
    let body: string | undefined
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)
      headers['content-type'] ??= 'application/json'
    }
    const res = await fetch(new URL(path, opts.baseUrl ?? url), { method, headers, ...(body === undefined ? {} : { body }) })
    const text = await res.text()
    let parsed: unknown = {}
    if (text !== '' && (res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text)
    return { status: res.status, body: parsed as B, text, headers: res.headers }
  }

  return {
    url,
    prefix,
    amqpUrl,
    webhookSecret,
    auth,
    orders,
    payments,
    analytics,
    gateway: { app: gatewayApp, url, adminUrl: `http://127.0.0.1:${(gatewayApp.adminServer?.address() as AddressInfo).port}`, logs: gatewayLogs },
    broker,
    allLogs: () => [auth, ...orders, ...payments, ...(analytics === null ? [] : [analytics]), { logs: gatewayLogs }].map((i) => i.logs.text).join('\n'),
    http,
    async register (username) {
      const password = `Tr0ub4dor&3-${randomBytes(6).toString('hex')}`
      const email = `${username}@players.test`
      const res = await http<{ id: string }>('POST', '/api/register/', { body: { username, email, password } })
      if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${res.text}`)
      passwords.set(username, password)
      return { id: res.body.id, username, email, password }
    },
    async login (username) {
      const password = passwords.get(username)
      if (password === undefined) throw new Error(`login: ${username} was not registered by this system`)
      const res = await http<Tokens>('POST', '/api/token/', { body: { username, password } })
      if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`)
      return res.body
    },
    async topup (token, body = demoTopup, opts = {}) {
      return await http<TopupBody>('POST', '/api/topup/', {
        token,
        body,
        ...(opts.baseUrl === undefined ? {} : { baseUrl: opts.baseUrl }),
        ...(opts.idempotencyKey === undefined ? {} : { headers: { 'idempotency-key': opts.idempotencyKey } })
      })
    },
    async pay (transactionId, status, opts = {}) {
      const raw = JSON.stringify({ transaction_id: transactionId, status })
      const signature = signPayload(opts.secret ?? webhookSecret, raw, Math.floor(Date.now() / 1000))
      return await http('POST', '/api/payment/webhook/', {
        body: raw,
        headers: { 'x-topup-signature': signature },
        ...(opts.baseUrl === undefined ? {} : { baseUrl: opts.baseUrl })
      })
    },
    waitFor
  }
}

/** Runs `fn` over `items`, at most `concurrency` at a time, results in order. */
export async function mapLimit<I, O> (items: readonly I[], concurrency: number, fn: (item: I, index: number) => Promise<O>): Promise<O[]> {
  const results: O[] = new Array<O>(items.length)
  let next = 0
  async function worker (): Promise<void> {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index] as I, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return results
}
