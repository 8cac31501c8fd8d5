import net from 'node:net'
import amqplib from 'amqplib'
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely'
import pg from 'pg'
import { pino } from 'pino'
import { survivePoolClientErrors } from '@topup/service-kit'
import { createTestDatabase, LogCapture, rabbitUrl, uniqueName } from '@topup/service-kit/testing'
import { OrderCreated, type OrderCreatedEvent } from '@topup/contracts'
import {
  BrokerConnection, createInboxTable, createOutboxTable, deleteTopologyAt, enqueueEvent,
  type InboxTable, type Logger, type OutboxTable
} from '../src/index.js'
export { waitFor } from '@topup/service-kit/testing'
import { sampleOrderCreated as orderEvent } from '@topup/contracts/testing'
export { orderEvent }

export interface EffectsTable { event_id: string, order_id: string }
export interface TestDatabase { outbox: OutboxTable, inbox: InboxTable, effects: EffectsTable }

interface Tap {
  teardown: (fn: () => unknown) => void
}

/** A TCP proxy in front of RabbitMQ that a test can cut and restore. */
export class TcpProxy {
  private server: net.Server | null = null
  private readonly sockets = new Set<net.Socket>()
  port = 0
  constructor (private readonly target: { host: string, port: number }) {}

  async start (): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target)
      this.sockets.add(client)
      this.sockets.add(upstream)
      const drop = (): void => {
        client.destroy(); upstream.destroy()
        this.sockets.delete(client); this.sockets.delete(upstream)
      }
      client.on('error', drop); upstream.on('error', drop)
      client.on('close', drop); upstream.on('close', drop)
      client.pipe(upstream); upstream.pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  /** Broker unreachable: every connection dropped, new ones refused. */
  async cut (): Promise<void> {
    const server = this.server
    this.server = null
    const closed = server === null ? Promise.resolve() : new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
    await closed
  }

  async restore (): Promise<void> { await this.start() }
  async close (): Promise<void> { await this.cut() }

  url (base: string): string {
    const url = new URL(base)
    url.hostname = '127.0.0.1'
    url.port = String(this.port)
    return url.toString()
  }
}

export interface TestEnv {
  db: Kysely<TestDatabase>
  dbUrl: string
  amqpUrl: string
  prefix: string
  logs: LogCapture
  log: Logger
  /** Opens a BrokerConnection (closed in teardown). */
  connect: (url?: string) => Promise<BrokerConnection>
  proxy: () => Promise<TcpProxy>
  /** A raw amqplib channel (closed in teardown). */
  rawChannel: () => Promise<amqplib.Channel>
  /** Services whose queues teardown deletes. */
  services: Set<string>
}

export async function setupEnv (t: Tap): Promise<TestEnv> {
  const dbUrl = await createTestDatabase(t, 'msg')
  const amqpUrl = await rabbitUrl()
  const prefix = `${uniqueName('t')}.`
  const pool = new pg.Pool({ connectionString: dbUrl, max: 20 })
  pool.on('error', () => {})
  // as in every service (openDatabase): a session PostgreSQL ends under a query is not a crash
  survivePoolClientErrors(pool, { warn: () => {} })
  const db = new Kysely<TestDatabase>({ dialect: new PostgresDialect({ pool }) })
  await createOutboxTable(db as Kysely<unknown>)
  await createInboxTable(db as Kysely<unknown>)
  await db.schema.createTable('effects')
    .addColumn('event_id', 'uuid', (c) => c.notNull())
    .addColumn('order_id', 'uuid', (c) => c.notNull())
    .execute()
  const logs = new LogCapture()
  const log = pino({ level: 'debug' }, logs)
  const connections: BrokerConnection[] = []
  const proxies: TcpProxy[] = []
  const raw: amqplib.ChannelModel[] = []
  const services = new Set<string>()

  t.teardown(async () => {
    for (const c of connections) await c.close()
    for (const p of proxies) await p.close()
    await deleteTopologyAt(amqpUrl, prefix, [...services])
    for (const r of raw) await r.close().catch(() => {})
    await db.destroy()
  })

  return {
    db,
    dbUrl,
    amqpUrl,
    prefix,
    logs,
    log,
    services,
    async connect (url = amqpUrl) {
      const connection = await BrokerConnection.open({ url, prefix, log, initialReconnectDelayMs: 50, maxReconnectDelayMs: 300, confirmTimeoutMs: 3000 })
      connections.push(connection)
      return connection
    },
    async proxy () {
      const target = new URL(amqpUrl)
      const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port === '' ? 5672 : target.port) })
      await proxy.start()
      proxies.push(proxy)
      return proxy
    },
    async rawChannel () {
      const model = await amqplib.connect(amqpUrl)
      raw.push(model)
      return await model.createChannel()
    }
  }
}


/** Enqueues `count` events, each in its own committed transaction. */
export async function enqueueOrders (db: Kysely<TestDatabase>, count: number): Promise<OrderCreatedEvent[]> {
  const events: OrderCreatedEvent[] = []
  for (let i = 0; i < count; i++) {
    const event = orderEvent()
    await db.transaction().execute(async (trx) => { await enqueueEvent(trx, event, OrderCreated) })
    events.push(event)
  }
  return events
}

/** The test handler's effect: one row per application. */
export async function recordEffect (trx: Transaction<TestDatabase>, event: OrderCreatedEvent): Promise<void> {
  await trx.insertInto('effects').values({ event_id: event.id, order_id: event.data.order_id }).execute()
}

export async function effectCounts (db: Kysely<TestDatabase>): Promise<Map<string, number>> {
  const rows = await db.selectFrom('effects').select(['event_id', sql<string>`count(*)`.as('n')]).groupBy('event_id').execute()
  return new Map(rows.map((r) => [r.event_id, Number(r.n)]))
}

export async function unsentCount (db: Kysely<TestDatabase>): Promise<number> {
  const row = await db.selectFrom('outbox').select(sql<string>`count(*)`.as('n')).where('sent_at', 'is', null).executeTakeFirstOrThrow()
  return Number(row.n)
}


export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Waits for one message on `queue` (acked). */
export async function getMessage (channel: amqplib.Channel, queue: string, timeoutMs = 5000): Promise<amqplib.GetMessage> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const message = await channel.get(queue, { noAck: true })
    if (message !== false) return message
    if (Date.now() > deadline) throw new Error(`no message on ${queue} within ${timeoutMs} ms`)
    await sleep(50)
  }
}
