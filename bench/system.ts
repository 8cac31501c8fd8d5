/**
 * The platform under test: every service started from the built tree as its
 * own process (`node services/<name>/dist/src/server.js`, cwd the service's
 * folder, the environment scripts/start.mjs gives it), on ports of its own
 * (freeLowPort), databases of its own (bench_<run>_<service>, created fresh
 * here, dropped at the end unless --keep) and a broker prefix of its own, so
 * it runs beside everyone else's tests on the shared PostgreSQL and RabbitMQ.
 *
 * Rate limits are off (the benchmark is one address placing thousands of
 * orders); LOG_LEVEL is the services' default (info) unless a step asks for
 * another. Each process writes its output to <logDir>/<name>.log: a file, the
 * cheapest sink a deployment would have (npm start's reformatting prefixer
 * would cost the services more than production does).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { deleteTopologyAt } from '@topup/messaging'
import { freeLowPort, waitFor } from '@topup/service-kit/testing'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

export const SERVICES = ['auth', 'orders', 'payments', 'analytics'] as const
export type ServiceName = typeof SERVICES[number]
export type ProcessName = ServiceName | 'gateway'
/** Start order: the gateway last, once the others are ready (as npm start does). */
const PROCESSES: readonly ProcessName[] = [...SERVICES, 'gateway']
const READY_TIMEOUT_MS = 90_000
const STOP_TIMEOUT_MS = 15_000

export interface Staff { username: string, email: string, password: string }

export interface Platform {
  runId: string
  /** The gateway's public port: every request the benchmark measures goes here. */
  gatewayUrl: string
  /** The gateway's admin listener (its /ready). */
  adminUrl: string
  serviceUrls: Record<ServiceName, string>
  databaseUrls: Record<ServiceName, string>
  adminDatabaseUrl: string
  prefix: string
  webhookSecret: string
  staff: Staff
  logDir: string
  logLevel: () => string
  /** The process id of a running process (the node process itself: /proc/<pid>/status is its memory). */
  pid: (name: string) => number | undefined
  /** Starts every process at `logLevel` and waits until each is ready. */
  start: (logLevel: string) => Promise<void>
  /** Stops every process (gateway first). */
  stop: () => Promise<void>
  /** Stops and starts again at another level (the databases and the broker state stay). */
  restart: (logLevel: string) => Promise<void>
  /** A database of this run that is not a service's (a baseline copy): created now, dropped with the rest. */
  extraDatabase: (suffix: string) => Promise<string>
  /**
   * One more analytics process, on a database of its own (created now): the
   * dashboard keeps one per size of the read model, so the sizes can be
   * sampled in turn. Its own port and broker prefix (it consumes nothing);
   * stopped with the rest.
   */
  extraAnalytics: (suffix: string) => Promise<{ url: string, databaseUrl: string, pid: () => number | undefined }>
  /** Stops everything, drops the run's databases (unless `keep`) and its broker names. */
  dispose: (keep: boolean) => Promise<string[]>
  /** SIGKILLs whatever still runs, synchronously (for process.on('exit'): no process outlives the benchmark). */
  killNow: () => void
}

interface Running { child: ChildProcess, exited: Promise<void>, done: boolean }

function databaseUrl (admin: string, name: string): string {
  const url = new URL(admin)
  url.pathname = `/${name}`
  return url.toString()
}

async function adminQuery (admin: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

async function ok (url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) })
    await res.arrayBuffer()
    return res.status === 200
  } catch {
    return false
  }
}

/** Distinct free ports, one per name (freeLowPort twice can give the same one). */
async function ports (count: number): Promise<number[]> {
  const chosen = new Set<number>()
  while (chosen.size < count) chosen.add(await freeLowPort())
  return [...chosen]
}

export async function createPlatform (options: { runId: string, adminDatabaseUrl: string, amqpUrl: string, logDir: string }): Promise<Platform> {
  const { runId, adminDatabaseUrl: admin, amqpUrl, logDir } = options
  const [authPort, ordersPort, paymentsPort, analyticsPort, gatewayPort, gatewayAdminPort] = await ports(6) as [number, number, number, number, number, number]
  const portOf: Record<ProcessName, number> = { auth: authPort, orders: ordersPort, payments: paymentsPort, analytics: analyticsPort, gateway: gatewayPort }
  const local = (port: number): string => `http://127.0.0.1:${port}`
  const serviceUrls = Object.fromEntries(SERVICES.map((s) => [s, local(portOf[s])])) as Record<ServiceName, string>
  const databaseNames: string[] = []
  const databaseUrls = {} as Record<ServiceName, string>
  const createDatabase = async (name: string): Promise<string> => {
    await adminQuery(admin, `CREATE DATABASE "${name}"`)
    databaseNames.push(name)
    return databaseUrl(admin, name)
  }
  for (const service of SERVICES) databaseUrls[service] = await createDatabase(`${runId}_${service}`)

  const prefix = `${runId}.`
  const webhookSecret = randomBytes(24).toString('hex')
  const staff: Staff = { username: `${runId}_staff`, email: `${runId}_staff@bench.test`, password: `Bench-${randomBytes(9).toString('base64url')}-9x` }
  /** Every process running: the platform's by name, extra analytics as analytics@<suffix>. */
  const running = new Map<string, Running>()
  const extras: Array<{ key: string, port: number, databaseUrl: string, prefix: string }> = []
  let level = 'info'

  function envFor (name: ProcessName, port = portOf[name]): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env }
    // a PORT, ADMIN_PORT or DATABASE_URL of the caller's shell would make the services clash or share a database
    delete env.PORT
    delete env.ADMIN_PORT
    delete env.DATABASE_URL
    Object.assign(env, {
      NODE_ENV: process.env.NODE_ENV ?? 'development',
      LOG_LEVEL: level,
      PORT: String(port),
      AMQP_URL: amqpUrl,
      BROKER_PREFIX: prefix,
      AUTH_URL: serviceUrls.auth,
      ORDERS_URL: serviceUrls.orders,
      PAYMENTS_URL: serviceUrls.payments,
      ANALYTICS_URL: serviceUrls.analytics,
      // one address places thousands of orders: the per-address and per-player limits are off
      REGISTER_MAX_PER_IP: '0',
      ORDER_MAX_PER_USER: '0',
      ORDER_MAX_PER_IP: '0'
    })
    if (name !== 'gateway') env.DATABASE_URL = databaseUrls[name]
    if (name === 'auth') Object.assign(env, { STAFF_USERNAME: staff.username, STAFF_EMAIL: staff.email, STAFF_PASSWORD: staff.password })
    if (name === 'payments') env.PAYMENT_WEBHOOK_SECRET = webhookSecret
    if (name === 'gateway') {
      Object.assign(env, {
        AUTH_URLS: serviceUrls.auth,
        ORDERS_URLS: serviceUrls.orders,
        PAYMENTS_URLS: serviceUrls.payments,
        ANALYTICS_URLS: serviceUrls.analytics,
        ADMIN_PORT: String(gatewayAdminPort)
      })
    }
    return env
  }

  function spawnProcess (name: ProcessName, key: string = name, env: NodeJS.ProcessEnv = envFor(name)): Running {
    const logFile = join(logDir, `${key}.log`)
    const out = openSync(logFile, 'a')
    writeSync(out, `\n----- bench: starting ${key} at LOG_LEVEL=${level}, ${new Date().toISOString()} -----\n`)
    // BENCH_CPU_PROF=orders,gateway: those processes write a V8 CPU profile into the log directory when they stop
    const profiled = (process.env.BENCH_CPU_PROF ?? '').split(',').includes(key)
    const flags = profiled ? ['--cpu-prof', `--cpu-prof-dir=${join(logDir, 'profiles')}`, `--cpu-prof-name=${key}-${Date.now()}.cpuprofile`] : []
    const child = spawn(process.execPath, [...flags, join(ROOT, 'services', name, 'dist', 'src', 'server.js')], {
      cwd: join(ROOT, 'services', name),
      env,
      stdio: ['ignore', out, out]
    })
    closeSync(out)
    const entry: Running = { child, done: false, exited: Promise.resolve() }
    entry.exited = new Promise((resolve) => {
      child.once('exit', () => {
        entry.done = true
        resolve()
      })
    })
    running.set(key, entry)
    return entry
  }

  const readyUrl = (name: ProcessName): string => name === 'gateway' ? `${local(gatewayAdminPort)}/ready` : `${local(portOf[name])}/ready`

  async function awaitReady (key: string, entry: Running, url: string): Promise<void> {
    await waitFor(`${key} to answer ${url} with 200`, async () => {
      if (entry.done) throw new Error(`${key} exited while starting (see ${join(logDir, `${key}.log`)})`)
      return await ok(url)
    }, READY_TIMEOUT_MS, 100)
  }

  async function startOne (name: ProcessName): Promise<void> {
    await awaitReady(name, spawnProcess(name), readyUrl(name))
  }

  async function startExtra (extra: typeof extras[number]): Promise<void> {
    const env = { ...envFor('analytics', extra.port), DATABASE_URL: extra.databaseUrl, BROKER_PREFIX: extra.prefix }
    await awaitReady(extra.key, spawnProcess('analytics', extra.key, env), `${local(extra.port)}/ready`)
  }

  async function stopOne (name: string): Promise<void> {
    const entry = running.get(name)
    if (entry === undefined) return
    running.delete(name)
    if (entry.done) return
    entry.child.kill('SIGTERM')
    const force = setTimeout(() => { entry.child.kill('SIGKILL') }, STOP_TIMEOUT_MS)
    await entry.exited
    clearTimeout(force)
  }

  const platform: Platform = {
    runId,
    gatewayUrl: local(gatewayPort),
    adminUrl: local(gatewayAdminPort),
    serviceUrls,
    databaseUrls,
    adminDatabaseUrl: admin,
    prefix,
    webhookSecret,
    staff,
    logDir,
    logLevel: () => level,
    pid: (name) => {
      const entry = running.get(name)
      return entry === undefined || entry.done ? undefined : entry.child.pid
    },
    async start (logLevel) {
      level = logLevel
      // the services in parallel (each waits for its own database and broker), then the gateway
      await Promise.all(PROCESSES.filter((n) => n !== 'gateway').map(startOne))
      await startOne('gateway')
    },
    async stop () {
      await stopOne('gateway')
      await Promise.all([...SERVICES, ...extras.map((e) => e.key)].map(stopOne))
    },
    async restart (logLevel) {
      await platform.stop()
      await platform.start(logLevel)
      for (const extra of extras) await startExtra(extra)
    },
    extraDatabase: async (suffix) => await createDatabase(`${runId}_${suffix}`),
    async extraAnalytics (suffix) {
      const databaseUrl = await createDatabase(`${runId}_analytics_${suffix}`)
      const [port] = await ports(1)
      const extra = { key: `analytics@${suffix}`, port: port ?? 0, databaseUrl, prefix: `${prefix}${suffix}.` }
      extras.push(extra)
      await startExtra(extra)
      return { url: local(extra.port), databaseUrl, pid: () => platform.pid(extra.key) }
    },
    killNow () {
      for (const entry of running.values()) if (!entry.done) entry.child.kill('SIGKILL')
    },
    async dispose (keep) {
      await platform.stop()
      const problems: string[] = []
      for (const [names, services] of [[prefix, ['orders', 'payments', 'analytics']], ...extras.map((e) => [e.prefix, ['analytics']] as const)] as const) {
        try {
          await deleteTopologyAt(amqpUrl, names, services)
        } catch (err) {
          problems.push(`broker names under ${names}: ${(err as Error).message}`)
        }
      }
      if (!keep) {
        for (const name of databaseNames) {
          try {
            await adminQuery(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
          } catch (err) {
            problems.push(`database ${name}: ${(err as Error).message}`)
          }
        }
      }
      return problems
    }
  }
  return platform
}

/** Every process of the platform, in start order. */
export const PROCESS_NAMES = PROCESSES
