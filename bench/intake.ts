/**
 * Order intake: POST /api/topup/ through the gateway's public port, logged-in
 * players round robin over the catalog, with autocannon (closed loop,
 * `connections` at once, `seconds` long), beside its baseline: the same
 * database work driven straight at PostgreSQL with pg at the same concurrency.
 *
 * The baseline runs the statements orders runs for one order without an
 * Idempotency-Key (services/orders/src/routes/topup, db/catalog.ts findGameAndProduct,
 * db/orders.ts, @topup/messaging enqueueEvent), in the text kysely compiles
 * them to, in one committed transaction each, against a copy database with
 * orders' own migrations and the same catalog rows.
 */
import { randomUUID } from 'node:crypto'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import autocannon from 'autocannon'
import { makeEvent, OrderCreatedV2 } from '@topup/contracts'
import { migrateToLatest } from '@topup/service-kit'
import { migrations as ordersMigrations } from '../services/orders/dist/migrations/index.js'
import { topupBody, type CatalogProduct } from './catalog.js'
import { closedLoop, nowMs, round, type ClosedLoopResult } from './measure.js'
import type { Player } from './players.js'
import { status } from './progress.js'

export interface PlacedOrder { order_id: string, transaction_id: string, /** client clock at the 201, ms since the epoch */ at: number }

export interface IntakeResult {
  seconds: number
  connections: number
  orders: number
  perSecond: number
  /** Milliseconds (autocannon's latency histogram, every response). */
  p50: number
  p99: number
  max: number
  /** Answers other than 201, connection errors and timeouts. */
  errors: number
  statusCodes: Record<string, number>
  placed: PlacedOrder[]
}

/** Drives POST /api/topup/ for `seconds` at `connections`; every 201's ids and time are kept. */
export async function runIntake (options: { gatewayUrl: string, players: Player[], catalog: CatalogProduct[], seconds: number, connections: number, label: string }): Promise<IntakeResult> {
  const { players, catalog } = options
  const bodies = catalog.map(topupBody)
  const placed: PlacedOrder[] = []
  let next = 0
  let refused = 0
  const run = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: options.gatewayUrl,
      connections: options.connections,
      duration: options.seconds,
      timeout: 10,
      requests: [{
        method: 'POST',
        path: '/api/topup/',
        setupRequest: (request) => {
          const n = next++
          const player = players[n % players.length]
          const body = bodies[n % bodies.length]
          if (player === undefined || body === undefined) throw new Error('no players or no catalog')
          return { ...request, headers: { 'content-type': 'application/json', authorization: `Bearer ${player.access}` }, body }
        },
        onResponse: (code, body) => {
          if (code !== 201) { refused++; return }
          const answer = JSON.parse(body) as { order_id: string, transaction_id: string }
          placed.push({ order_id: answer.order_id, transaction_id: answer.transaction_id, at: nowMs() })
        }
      }]
    }, (err, result) => { if (err !== null) reject(err); else resolve(result) })
    let second = 0
    instance.on('tick', () => { status(`${options.label}: ${++second}/${options.seconds} s, ${placed.length} orders, ${refused} refused`) })
  })
  const statusCodes = Object.fromEntries(Object.entries(run.statusCodeStats).map(([code, { count }]) => [code, Number(count)]))
  return {
    seconds: run.duration,
    connections: options.connections,
    orders: placed.length,
    perSecond: round(placed.length / run.duration, 1),
    p50: run.latency.p50,
    p99: run.latency.p99,
    max: run.latency.max,
    errors: refused + run.errors + run.timeouts,
    statusCodes,
    placed
  }
}

// ---------------------------------------------------------------------------
// Baseline

/** Kysely's text for findGameAndProduct, insertOrder, enqueueEvent (the outbox row and its notification in one statement). */
const FIND_GAME_AND_PRODUCT = 'select "g"."id" as "game_id", "g"."name" as "game_name", "g"."code" as "game_code", "p"."id" as "product_id", "p"."name" as "product_name", "p"."price", "p"."in_game_currency" from "games" as "g" left join "products" as "p" on "p"."game_id" = "g"."id" and "p"."id" = $1 and "p"."name" = $2 and "p"."price" = $3::numeric where lower(g.name) = $4 and "g"."code" = $5 and "g"."is_active" = $6'
const INSERT_ORDER = 'insert into "orders" ("id", "transaction_id", "user_id", "user_email", "game_id", "game_code", "game_name", "product_id", "product_name", "in_game_currency", "amount", "currency", "status", "created_at", "updated_at") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)'
export const INSERT_OUTBOX_AND_NOTIFY = 'with "queued" as (insert into "outbox" ("event_id", "type", "version", "routing_key", "correlation_id", "payload", "last_error") values ($1, $2, $3, $4, $5, $6, $7) returning "event_id") select pg_notify($8, \'\') as "notified" from "queued"'
export const OUTBOX_CHANNEL = 'topup_outbox'

/** Migrates a fresh database with a service's own migrations (what the service does on start). */
export async function migrateCopy (url: string, migrations: Parameters<typeof migrateToLatest>[1]): Promise<void> {
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) })
  try {
    await migrateToLatest(db, migrations)
  } finally {
    await db.destroy()
  }
}

/** The baseline's database: orders' migrations and the catalog rows of the service's own database. */
export async function prepareOrdersCopy (copyUrl: string, serviceUrl: string): Promise<void> {
  await migrateCopy(copyUrl, ordersMigrations)
  const source = new pg.Client({ connectionString: serviceUrl })
  const copy = new pg.Client({ connectionString: copyUrl })
  await source.connect()
  await copy.connect()
  try {
    const games = await source.query<{ id: number, name: string, code: string, is_active: boolean }>('SELECT id, name, code, is_active FROM games')
    const products = await source.query<{ id: number, game_id: number, name: string, price: string, in_game_currency: string }>('SELECT id, game_id, name, price, in_game_currency FROM products')
    for (const g of games.rows) {
      await copy.query('INSERT INTO games (id, name, code, is_active) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4)', [g.id, g.name, g.code, g.is_active])
    }
    for (const p of products.rows) {
      await copy.query('INSERT INTO products (id, game_id, name, price, in_game_currency) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5)', [p.id, p.game_id, p.name, p.price, p.in_game_currency])
    }
  } finally {
    await source.end()
    await copy.end()
  }
}

/** One order's database work, as orders does it: catalog check, order row, outbox row, one committed transaction. */
async function placeOrderDirectly (pool: pg.Pool, product: CatalogProduct, user: { id: string, email: string }): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('begin')
    const found = await client.query<{ game_id: number, game_name: string, game_code: string, product_id: number | null, product_name: string | null, price: string | null, in_game_currency: string | null }>(
      FIND_GAME_AND_PRODUCT, [product.product_id, product.product_name, product.price, product.game_name.toLowerCase(), product.game_code, true])
    const row = found.rows[0]
    if (row === undefined) throw new Error(`game ${product.game_code} not found in the copy`)
    if (row.product_id === null || row.product_name === null || row.price === null || row.in_game_currency === null) throw new Error(`product ${product.product_id} not found in the copy`)
    const g = { id: row.game_id, name: row.game_name, code: row.game_code }
    const p = { id: row.product_id, name: row.product_name, price: row.price, in_game_currency: row.in_game_currency }
    const at = new Date()
    const order = {
      order_id: randomUUID(), transaction_id: randomUUID(), user_id: user.id, user_email: user.email,
      game: { id: g.id, code: g.code, name: g.name }, product: { id: p.id, name: p.name, in_game_currency: p.in_game_currency },
      amount: p.price, currency: 'INR'
    }
    await client.query(INSERT_ORDER, [order.order_id, order.transaction_id, user.id, user.email, g.id, g.code, g.name, p.id, p.name, p.in_game_currency, p.price, 'INR', 'pending', at, at])
    const event = makeEvent(OrderCreatedV2, { ...order, status: 'pending', created_at: at.toISOString() }, { correlationId: randomUUID(), occurredAt: at })
    await client.query(INSERT_OUTBOX_AND_NOTIFY, [event.id, event.type, event.version, OrderCreatedV2.routingKey, event.correlation_id, JSON.stringify(event), null, OUTBOX_CHANNEL])
    await client.query('commit')
  } catch (err) {
    await client.query('rollback').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

export async function intakeBaseline (options: { copyUrl: string, catalog: CatalogProduct[], users: number, seconds: number, connections: number, label: string }): Promise<ClosedLoopResult> {
  const users = Array.from({ length: options.users }, (_, i) => ({ id: randomUUID(), email: `baseline_p${i + 1}@bench.test` }))
  const pool = new pg.Pool({ connectionString: options.copyUrl, max: options.connections })
  const started = Date.now()
  try {
    return await closedLoop({
      concurrency: options.connections,
      seconds: options.seconds,
      operation: async (i) => {
        const product = options.catalog[i % options.catalog.length]
        const user = users[i % users.length]
        if (product === undefined || user === undefined) throw new Error('no catalog or no users')
        await placeOrderDirectly(pool, product, user)
      },
      onProgress: (done) => { status(`${options.label}: ${Math.floor((Date.now() - started) / 1000)}/${options.seconds} s, ${done} orders`) }
    })
  } finally {
    await pool.end()
  }
}
