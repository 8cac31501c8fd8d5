import { Kysely, Migrator, PostgresDialect, sql, type Migration } from 'kysely'
import pg from 'pg'
import { Gauge } from './metrics.js'
import fp from 'fastify-plugin'
import type { App } from './server.js'

export type Migrations = Record<string, Migration>

export function databaseName (url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''))
  if (name === '') throw new Error(`database URL ${redactUrl(url)} names no database`)
  return name
}

/** The URL with its password hidden, for log lines and error messages. */
export function redactUrl (url: string): string {
  const parsed = new URL(url)
  if (parsed.password !== '') parsed.password = '***'
  return parsed.toString()
}

/** Creates the service's own database when it does not exist yet. */
export async function ensureDatabase (url: string): Promise<void> {
  const name = databaseName(url)
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`)
      } catch (err) {
        // another instance created it at the same moment
        const code = (err as { code?: string }).code
        if (code !== '42P04' && code !== '23505') throw err
      }
    }
  } finally {
    await client.end()
  }
}

export async function retry<T> (what: string, fn: () => Promise<T>, opts: { attempts?: number, delayMs?: number, log?: (msg: string) => void } = {}): Promise<T> {
  const attempts = opts.attempts ?? 30
  const delayMs = opts.delayMs ?? 1000
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (attempt >= attempts) throw err
      opts.log?.(`${what} failed (attempt ${attempt}/${attempts}): ${(err as Error).message}; retrying`)
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }
}

export async function migrateToLatest (db: Kysely<unknown>, migrations: Migrations): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results } = await migrator.migrateToLatest()
  if (error !== undefined) {
    throw new Error(`migration failed: ${error instanceof Error ? error.message : String(error)}`)
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/**
 * pg-pool removes its error listener from a client while it is checked out: a
 * connection lost then (a PostgreSQL restart) was an unhandled 'error' event
 * that ended the process. The query in flight still fails with the error.
 */
export function survivePoolClientErrors (pool: pg.Pool, log: { warn: (obj: object, msg: string) => void }): void {
  pool.on('connect', (client) => { client.on('error', (err) => { log.warn({ reason: err.message }, 'PostgreSQL connection lost while in use') }) })
}

export interface DatabaseOptions {
  url: string
  migrations: Migrations
  poolSize?: number
  connectAttempts?: number
}

/**
 * The service's own database: created if missing and migrated (with retries
 * while PostgreSQL starts), checked by /ready and closed with the app.
 */
export async function openDatabase<DB> (app: App, options: DatabaseOptions): Promise<Kysely<DB>> {
  const log = (msg: string): void => { app.log.warn(msg) }
  await retry('connecting to PostgreSQL', async () => { await ensureDatabase(options.url) }, { attempts: options.connectAttempts ?? 30, log })
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 })
  pool.on('error', (err) => { app.log.error({ reason: err.message, code: (err as { code?: string }).code }, 'idle PostgreSQL connection failed') })
  survivePoolClientErrors(pool, app.log)
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
  try {
    const applied = await migrateToLatest(db as Kysely<unknown>, options.migrations)
    if (applied.length > 0) app.log.info({ applied }, 'migrations applied')
  } catch (err) {
    await db.destroy()
    throw err
  }
  // A pool busy with the service's own queries has just shown that the database
  // answers: a probe queued behind them made /ready time out under load (and the
  // gateway's /ready with it). Only an idle or failing pool is asked again.
  let lastAnswered = 0
  pool.on('release', (err: Error | undefined) => { if (err === undefined || err === null) lastAnswered = Date.now() })
  app.addReadinessCheck('database', async () => {
    if (pool.waitingCount > 0 && Date.now() - lastAnswered < 1000) return
    await sql`SELECT 1`.execute(db)
  })
  poolMetrics(app, pool, options.poolSize ?? 10)
  app.addHook('onClose', async () => { await db.destroy() })
  return db
}

/** The pool's use, read when Prometheus scrapes: connections in use, idle, and queries waiting for one. */
function poolMetrics (app: App, pool: pg.Pool, max: number): void {
  if (!app.hasDecorator('metricsRegistry')) return
  new Gauge({
    name: 'db_pool_connections',
    help: 'PostgreSQL pool connections by state (in_use, idle, max) and queries waiting for one (waiting)',
    labelNames: ['state'],
    registers: [app.metricsRegistry],
    collect () {
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount)
      this.set({ state: 'idle' }, pool.idleCount)
      this.set({ state: 'waiting' }, pool.waitingCount)
      this.set({ state: 'max' }, max)
    }
  })
}

/**
 * The `db` plugin of a service: its own database, opened with its migrations
 * and decorated as `app.db`. The service declares the decorator's type
 * (`declare module 'fastify' { interface FastifyInstance { db: Kysely<Database> } }`).
 */
export function databasePlugin<DB> (migrations: Migrations) {
  return fp(async function db (app: App, options: { url: string }) {
    app.decorate('db', await openDatabase<DB>(app, { url: options.url, migrations }))
  }, { name: 'db', dependencies: ['health'] })
}
