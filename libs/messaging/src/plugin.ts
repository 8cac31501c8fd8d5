import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { ReadinessCheck as _ReadinessCheck } from '@topup/service-kit'
import { BrokerConnection } from './connection.js'
import { startConsumer, type AnyEventHandler, type Consumer, type EventHandlers } from './consumer.js'
import { pruneInbox, pruneSentEvents, type InboxDatabase, type OutboxDatabase } from './outbox.js'
import { startOutboxRelay, type OutboxRelay } from './relay.js'
import { backlogMetrics, initialiseConsumerSeries, messagingMetrics } from './metrics.js'

export interface MessagingOptions {
  /** AMQP URL of RabbitMQ. */
  url: string
  /** Broker name prefix: empty in production. */
  prefix: string
  /** The service's name: its queue is `${prefix}<service>.events`. */
  service: string
  /**
   * The service's database: its Database interface has `outbox: OutboxTable`
   * when it publishes and `inbox: InboxTable` when it consumes.
   */
  db: AnyKysely
  /**
   * The service's subscriptions, all in one place: routing key → handler
   * (typed with `defineHandlers<Database>()({...})` or `defineHandler`).
   * None: no consumer, no queue.
   */
  handlers?: Record<string, AnyEventHandler>
  /** Run the outbox relay (the service publishes events). Default false. */
  publishes?: boolean
  /** The database URL for the relay's LISTEN connection (prompt wake-up); else it polls. */
  databaseUrl?: string
  prefetch?: number
  deliveryLimit?: number
  relay?: { batchSize?: number, pollIntervalMs?: number, retryInitialMs?: number, retryMaxMs?: number }
  reconnect?: { initialDelayMs?: number, maxDelayMs?: number }
  consumerRetryDelayMs?: number
  /** Housekeeping: how long sent outbox rows and inbox entries are kept (defaults 7 and 30 days). */
  retention?: { sentEventsMs?: number, inboxMs?: number, everyMs?: number }
}

/**
 * Any `Kysely<Database>` (kysely's types are invariant in the Database, so a
 * plugin option cannot name the tables it needs; `startConsumer` and
 * `startOutboxRelay` do, for direct use).
 */
export interface AnyKysely {
  transaction: () => unknown
  selectFrom: (...args: never[]) => unknown
}

export interface Messaging {
  connection: BrokerConnection
  relay: OutboxRelay | null
  consumer: Consumer | null
  isConnected: () => boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    messaging: Messaging
  }
}

/**
 * RabbitMQ for a service: the connection (retrying in the background), a
 * `broker` readiness check, and — once the app is ready — the outbox relay
 * and the consumer of the service's handlers. On close, the relay and the
 * consumer stop first (finishing what is in flight), then the connection.
 */
export default fp(async function messaging (app: FastifyInstance, options: MessagingOptions) {
  if (typeof options.db?.transaction !== 'function') throw new Error('messaging: `db` must be the service\'s Kysely instance')
  const log = app.log.child({ component: 'messaging' })
  const connection = await BrokerConnection.open({
    url: options.url,
    prefix: options.prefix,
    log,
    connectionName: options.service,
    ...(options.reconnect?.initialDelayMs === undefined ? {} : { initialReconnectDelayMs: options.reconnect.initialDelayMs }),
    ...(options.reconnect?.maxDelayMs === undefined ? {} : { maxReconnectDelayMs: options.reconnect.maxDelayMs })
  })
  const state: Messaging = { connection, relay: null, consumer: null, isConnected: () => connection.isConnected() }
  app.decorate('messaging', state)
  app.addReadinessCheck('broker', async () => {
    if (!connection.isConnected()) throw new Error('not connected to RabbitMQ')
  })

  // the app's metrics registry (createServer's); a bare Fastify app in a test has none
  const registry = app.hasDecorator('metricsRegistry') ? app.metricsRegistry : undefined
  const metrics = registry === undefined ? undefined : messagingMetrics(registry)
  const consumedTypes = new Set(Object.values(options.handlers ?? {}).map((h) => h.contract.type))
  if (registry !== undefined && metrics !== undefined) {
    initialiseConsumerSeries(metrics, consumedTypes)
    backlogMetrics(registry, {
      connection,
      prefix: options.prefix,
      ...(options.publishes === true ? { db: options.db as unknown as Kysely<OutboxDatabase> } : {}),
      ...(consumedTypes.size > 0 ? { service: options.service } : {})
    })
  }

  app.addHook('onReady', async () => {
    if (options.publishes === true) {
      state.relay = startOutboxRelay({
        db: options.db as unknown as Kysely<OutboxDatabase>,
        connection,
        log,
        ...(options.databaseUrl === undefined ? {} : { notifyUrl: options.databaseUrl }),
        ...(metrics === undefined ? {} : { metrics }),
        ...options.relay
      })
    }
    const handlers = (options.handlers ?? {}) as unknown as EventHandlers<InboxDatabase>
    if (consumedTypes.size > 0) {
      state.consumer = await startConsumer({
        connection,
        prefix: options.prefix,
        service: options.service,
        handlers,
        db: options.db as unknown as Kysely<InboxDatabase>,
        log,
        ...(metrics === undefined ? {} : { metrics }),
        ...(options.prefetch === undefined ? {} : { prefetch: options.prefetch }),
        ...(options.deliveryLimit === undefined ? {} : { deliveryLimit: options.deliveryLimit }),
        ...(options.consumerRetryDelayMs === undefined ? {} : { retryDelayMs: options.consumerRetryDelayMs })
      })
    }
  })

  // housekeeping: published events and old inbox ids do not pile up forever
  const sentEventsMs = options.retention?.sentEventsMs ?? 7 * 24 * 3600_000
  const inboxMs = options.retention?.inboxMs ?? 30 * 24 * 3600_000
  const housekeeping = setInterval(() => {
    const tasks: Array<Promise<number>> = []
    if (options.publishes === true) tasks.push(pruneSentEvents(options.db as unknown as Kysely<OutboxDatabase>, sentEventsMs))
    if (consumedTypes.size > 0) tasks.push(pruneInbox(options.db as unknown as Kysely<InboxDatabase>, inboxMs))
    Promise.all(tasks).then((counts) => {
      if (counts.some((n) => n > 0)) log.info({ pruned: counts }, 'pruned old outbox and inbox rows')
    }).catch((err: unknown) => { log.warn({ reason: (err as Error).message }, 'outbox/inbox housekeeping failed; will retry') })
  }, options.retention?.everyMs ?? 3600_000)
  housekeeping.unref()

  app.addHook('onClose', async () => {
    clearInterval(housekeeping)
    await Promise.all([state.relay?.stop(), state.consumer?.stop()])
    await connection.close()
  })
}, { name: 'messaging', dependencies: ['health'], fastify: '5.x' })
