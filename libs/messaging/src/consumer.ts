import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib'
import type { Kysely, Transaction } from 'kysely'
import { validateEvent, type EventContract, type EventOf, type Problem } from '@topup/contracts'
import { PUBLISHED_AT_HEADER, type BrokerConnection } from './connection.js'
import { databaseUnavailable } from '@topup/service-kit'
import { deadLetterHeaders, REPLAYED_ROUTING_KEY_HEADER } from './dlq.js'
import { Backoff, errorMessage, sleep, type Logger } from './log.js'
import type { InboxDatabase } from './outbox.js'
import type { DeadLetterCause, MessagingMetrics } from './metrics.js'
import { DEFAULT_DELIVERY_LIMIT, declareTopology, serviceQueueNames, topologyNames } from './topology.js'

/** One handler per event: applies the event inside the consumer's transaction. */
export interface EventHandler<DB, C extends EventContract = EventContract> {
  contract: C
  handle: (trx: Transaction<DB>, event: EventOf<C>) => Promise<void>
}

/**
 * All of a service's subscriptions, in one place: routing key → handler.
 * Each key must be its contract's routing key.
 */
export type EventHandlers<DB, M extends Record<string, EventContract> = Record<string, EventContract>> = {
  [K in keyof M]: EventHandler<DB, M[K]>
}

/** Types one handler on its own (e.g. in `src/handlers/<event>.ts`). */
export function defineHandler<DB, C extends EventContract> (contract: C, handle: EventHandler<DB, C>['handle']): EventHandler<DB, C> {
  return { contract, handle }
}

/** Types a whole handlers map against the service's Database: `defineHandlers<Database>()({ ... })`. */
export function defineHandlers<DB> () {
  return <M extends Record<string, EventContract>>(handlers: EventHandlers<DB, M>): EventHandlers<DB, M> => handlers
}

/** Any service's handler, its types erased (what the plugin options accept). */
export interface AnyEventHandler {
  contract: EventContract
  handle: (trx: never, event: never) => Promise<void>
}

export interface ConsumerOptions<DB extends InboxDatabase, M extends Record<string, EventContract>> {
  connection: BrokerConnection
  prefix: string
  service: string
  handlers: EventHandlers<DB, M>
  db: Kysely<DB>
  log: Logger
  /** Unacknowledged messages in flight per consumer. Default 20. */
  prefetch?: number
  /** Deliveries of one message before it is dead-lettered. Default 5. */
  deliveryLimit?: number
  /** Pause before a failed message is requeued, doubled per delivery up to 5 s; also the first pause while the database is unavailable. Default 100 ms. */
  retryDelayMs?: number
  /** Counted per event type when given (the messaging plugin passes the app's). */
  metrics?: MessagingMetrics
}

export interface ConsumerStats {
  received: number
  /** Events applied (handler committed). */
  handled: number
  /** Events already in the inbox: skipped. */
  duplicates: number
  /** Handler failures (requeued or, past the limit, dead-lettered). */
  failed: number
  /** Invalid messages and messages past the delivery limit, sent to the DLQ by us. */
  deadLettered: number
  /** Attempts that found the database unavailable (the message held and tried again, not counted as a delivery). */
  held: number
}

export interface Consumer {
  readonly stats: Readonly<ConsumerStats>
  readonly queue: string
  /** Subscribed to its queue right now (declared and bound, deliveries flowing). */
  isConsuming: () => boolean
  /** Cancels the subscription, waits for the handlers in flight, closes the channel. */
  stop: () => Promise<void>
}

/** The longest pause between two tries of a failing handler (its delay doubles per delivery). */
const RETRY_DELAY_MAX_MS = 5000
/** The longest pause between two tries while the database is unavailable. */
const UNAVAILABLE_RETRY_MAX_MS = 5000

type ErasedHandler<DB> = { contract: EventContract, handle: (trx: Transaction<DB>, event: never) => Promise<void> }

class Rejection extends Error {
  constructor (readonly reason: string, readonly problems: Problem[] = []) { super(reason) }
}

/**
 * Applies one valid event exactly once, as the consumer does: its id goes into
 * the inbox in the same transaction as the handler's effect. Resolves false
 * when the id was there already (a redelivery: nothing done).
 */
export async function applyEvent<DB extends InboxDatabase> (db: Kysely<DB>, handler: AnyEventHandler | ErasedHandler<DB>, event: EventOf<EventContract>, routingKey: string): Promise<boolean> {
  const erased = handler as ErasedHandler<DB>
  return await db.transaction().execute(async (trx) => {
    const inbox = trx as unknown as Transaction<InboxDatabase>
    const inserted = await inbox.insertInto('inbox')
      .values({ event_id: event.id, type: event.type, routing_key: routingKey })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('event_id')
      .executeTakeFirst()
    if (inserted === undefined) return false
    await erased.handle(trx, event as never)
    return true
  })
}

/**
 * An event body as a message would carry it, checked against the handler's
 * contract and applied with `applyEvent`: what tests use to feed a service
 * without the broker, through the consumer's own code. Throws what the
 * consumer would dead-letter the message for (an unknown routing key, an
 * invalid body: reason and problems).
 */
export async function deliverEvent<DB extends InboxDatabase> (db: Kysely<DB>, handlers: Record<string, AnyEventHandler>, routingKey: string, body: unknown): Promise<boolean> {
  const handler = handlers[routingKey]
  if (handler === undefined) throw new Rejection(`no handler for routing key "${routingKey}"`)
  return await applyEvent(db, handler, validEvent(handler.contract, body), routingKey)
}

/** The event a message body holds, checked against its contract; a Rejection (reason and problems) if it is not one. */
function validEvent (contract: EventContract, body: unknown): EventOf<EventContract> {
  const result = validateEvent(contract, body)
  if (!result.ok) throw new Rejection(`not a valid ${contract.type} v${contract.version}`, result.problems)
  return result.event
}

/**
 * Consumes the service's queue (declared with its bindings on every connect)
 * with manual acks. Each valid event is applied exactly once: its id goes into
 * the inbox in the same transaction as the handler's effect, and the message
 * is acked only after that commit. Invalid messages go to the DLQ with the
 * reason logged; a failing handler is retried until the delivery limit, then
 * dead-lettered.
 */
export async function startConsumer<DB extends InboxDatabase, M extends Record<string, EventContract>> (options: ConsumerOptions<DB, M>): Promise<Consumer> {
  const { connection, log, service, prefix } = options
  const handlers = new Map<string, ErasedHandler<DB>>(Object.entries(options.handlers as Record<string, ErasedHandler<DB>>))
  for (const [key, handler] of handlers) {
    if (handler.contract.routingKey !== key) {
      throw new Error(`handler for "${key}" is declared with contract ${handler.contract.type} v${handler.contract.version} whose routing key is "${handler.contract.routingKey}"`)
    }
  }
  const prefetch = options.prefetch ?? 20
  const deliveryLimit = options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT
  const retryDelayMs = options.retryDelayMs ?? 100
  const { queue } = serviceQueueNames(prefix, service)
  const { deadLetterExchange } = topologyNames(prefix)
  const metrics = options.metrics
  const stats: ConsumerStats = { received: 0, handled: 0, duplicates: 0, failed: 0, deadLettered: 0, held: 0 }
  const inFlight = new Set<Promise<void>>()
  let current: { channel: Channel, consumerTag: string } | null = null
  const stopping = new AbortController()
  const stopped = (): boolean => stopping.signal.aborted
  /** Channels not closed yet: a message held on a closed one is redelivered by the broker. */
  const openChannels = new WeakSet<Channel>()

  function settle (channel: Channel, message: ConsumeMessage, outcome: 'ack' | 'requeue' | 'dead-letter'): void {
    try {
      // reject, not nack: from RabbitMQ 4.3 only basic.reject counts towards a quorum queue's delivery limit
      if (outcome === 'ack') channel.ack(message)
      else channel.reject(message, outcome === 'requeue')
    } catch (err) {
      // the channel is gone: the broker requeues the message, the inbox makes the redelivery harmless
      log.warn({ event_id: message.properties.messageId, reason: errorMessage(err), outcome }, 'could not settle a message; the broker will redeliver it')
    }
  }

  function parse (message: ConsumeMessage, routingKey: string): { handler: ErasedHandler<DB>, event: EventOf<EventContract> } {
    const handler = handlers.get(routingKey)
    if (handler === undefined) throw new Rejection(`no handler for routing key "${routingKey}"`)
    let body: unknown
    try {
      body = JSON.parse(message.content.toString('utf8'))
    } catch (err) {
      throw new Rejection(`invalid JSON: ${errorMessage(err)}`)
    }
    return { handler, event: validEvent(handler.contract, body) }
  }

  async function handleMessage (channel: Channel, message: ConsumeMessage): Promise<void> {
    stats.received++
    const routingKey = routingKeyOf(message)
    let parsed: ReturnType<typeof parse>
    try {
      parsed = parse(message, routingKey)
    } catch (err) {
      const rejection = err instanceof Rejection ? err : new Rejection(errorMessage(err))
      log.error({
        event_id: message.properties.messageId ?? null,
        correlation_id: message.properties.correlationId ?? null,
        routing_key: routingKey,
        queue,
        reason: rejection.reason,
        problems: rejection.problems
      }, 'invalid message sent to the dead-letter queue')
      await deadLetter(channel, message, { routingKey, cause: 'invalid', reason: rejection.reason, problems: rejection.problems, deliveries: deliveryCount(message) + 1 })
      return
    }
    const { handler, event } = parsed
    // every line about this event carries its correlation id: one grep follows an order across services
    const about = { event_id: event.id, type: event.type, correlation_id: event.correlation_id }
    const apply = (): Promise<boolean> => applyEvent(options.db, handler, event, routingKey)
    const started = performance.now()
    try {
      const applied = await applyHolding(channel, message, apply, about)
      if (applied === undefined) return
      const seconds = (performance.now() - started) / 1000
      metrics?.processing.observe({ type: event.type }, seconds)
      if (applied) {
        stats.handled++
        metrics?.consumed.inc({ type: event.type, outcome: 'applied' })
        metrics?.lag.observe({ type: event.type }, Math.max(0, (Date.now() - publishedAt(message, event)) / 1000))
        log.info({ ...about, duration_ms: Math.round(seconds * 1000) }, 'event applied')
      } else {
        stats.duplicates++
        metrics?.consumed.inc({ type: event.type, outcome: 'duplicate' })
        log.info(about, 'duplicate event skipped')
      }
      settle(channel, message, 'ack')
    } catch (err) {
      stats.failed++
      const deliveries = deliveryCount(message) + 1
      const giveUp = deliveries > deliveryLimit
      log.error({
        err,
        ...about,
        routing_key: routingKey,
        delivery: deliveries,
        delivery_limit: deliveryLimit
      }, giveUp ? 'event handler failed for the last time; sent to the dead-letter queue' : 'event handler failed; the message will be redelivered')
      if (giveUp) {
        await deadLetter(channel, message, { routingKey, cause: 'delivery_limit', reason: `the handler failed ${deliveries} times; last: ${errorMessage(err)}`, deliveries, type: event.type })
      } else {
        metrics?.retried.inc({ type: event.type, reason: 'handler_failed' })
        // a handler that fails for a reason of its own gets a little longer each time
        if (retryDelayMs > 0) await sleep(Math.min(RETRY_DELAY_MAX_MS, retryDelayMs * 2 ** (deliveries - 1)), stopping.signal)
        settle(channel, message, 'requeue')
      }
    }
  }

  /**
   * Sends a message to the dead-letter queue with why: the consumer publishes
   * a copy to the dead-letter exchange with the reason in its headers (what
   * `npm run dlq -- list` shows), then acks the original. A rejected message
   * would get there too, but with only "rejected" to say for itself. Should
   * that publish fail, the message is rejected after all: it reaches the
   * dead-letter queue without its reason, never lost.
   */
  async function deadLetter (channel: Channel, message: ConsumeMessage, why: { routingKey: string, cause: DeadLetterCause, reason: string, problems?: Problem[], deliveries: number, type?: string }): Promise<void> {
    const { headers = {}, messageId, type, correlationId } = message.properties as { headers?: Record<string, unknown>, messageId?: string, type?: string, correlationId?: string }
    const now = new Date().toISOString()
    try {
      await connection.publish(service, message.content, {
        exchange: deadLetterExchange,
        messageId: messageId ?? '',
        type: type ?? '',
        ...(correlationId === undefined ? {} : { correlationId }),
        headers: deadLetterHeaders(headers, {
          routingKey: why.routingKey,
          cause: why.cause,
          reason: why.problems === undefined || why.problems.length === 0 ? why.reason : `${why.reason}: ${why.problems.map((p) => `${p.path === '' ? '/' : p.path} ${p.message}`).join('; ')}`,
          deliveries: why.deliveries,
          at: now
        })
      })
      settle(channel, message, 'ack')
    } catch (err) {
      log.warn({ event_id: messageId ?? null, reason: errorMessage(err) }, 'could not send the message to the dead-letter queue with its reason; rejecting it (it gets there without one)')
      settle(channel, message, 'dead-letter')
    }
    // counted once it is there: its copy confirmed by the broker, or the original rejected to it
    stats.deadLettered++
    metrics?.deadLettered.inc({ type: why.type ?? message.properties.type ?? 'unknown', reason: why.cause })
  }

  /**
   * Applies the event, holding the message (unsettled) while the database is
   * unavailable: a PostgreSQL restart is nobody's fault and must not use up
   * the delivery limit, or a valid event would end in the dead-letter queue
   * (returning it to the queue would count, on the broker, as a delivery).
   * Resolves undefined when the message was let go without settling it: the
   * consumer is stopping or its channel is gone, and the broker redelivers it.
   */
  /** A held message is let go, unsettled, once the consumer stops or its channel closes (the broker redelivers it). */
  const letGo = (channel: Channel): boolean => stopped() || !openChannels.has(channel)

  async function applyHolding (channel: Channel, message: ConsumeMessage, apply: () => Promise<boolean>, about: { event_id: string, type: string, correlation_id: string }): Promise<boolean | undefined> {
    const backoff = new Backoff(retryDelayMs > 0 ? retryDelayMs : 1, UNAVAILABLE_RETRY_MAX_MS)
    for (let attempt = 1; ; attempt++) {
      try {
        return await apply()
      } catch (err) {
        if (!databaseUnavailable(err)) throw err
        stats.held++
        metrics?.retried.inc({ type: about.type, reason: 'database_unavailable' })
        if (letGo(channel)) return undefined
        const delay = backoff.next()
        // the first attempt and then every tenth: an outage of a minute is a handful of lines per message
        if (attempt === 1 || attempt % 10 === 0) {
          log.warn({ ...about, reason: errorMessage(err), attempt, retry_in_ms: delay }, 'database unavailable; holding the event and trying again')
        }
        await sleep(delay, stopping.signal)
        if (letGo(channel)) return undefined
      }
    }
  }

  let subscribing: Promise<void> = Promise.resolve()

  async function subscribe (model: ChannelModel): Promise<void> {
    const run = subscribeOn(model)
    subscribing = run.catch(() => {})
    await run
  }

  async function subscribeOn (model: ChannelModel): Promise<void> {
    if (stopped()) return
    const channel = await model.createChannel()
    openChannels.add(channel)
    channel.on('error', (err: Error) => { log.warn({ queue, reason: err.message }, 'consumer channel error') })
    channel.on('handler-error', (err: Error, event: string) => { log.error({ err, event }, 'error in a consumer channel listener') })
    channel.on('close', () => {
      openChannels.delete(channel)
      if (current?.channel !== channel) return
      current = null
      if (stopped()) return
      // a channel-level failure on a live connection: reconnect so every setup runs again
      if (connection.isConnected()) void connection.reset(`consumer channel of ${queue} closed`)
    })
    await declareTopology(channel, { prefix, service, bindings: [...handlers.keys()], deliveryLimit })
    await channel.prefetch(prefetch)
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (message === null) {
        log.warn({ queue }, 'the broker cancelled the consumer; resubscribing')
        if (!stopped()) void connection.reset(`consumer of ${queue} cancelled by the broker`)
        return
      }
      const work = handleMessage(channel, message).catch((err: unknown) => {
        log.error({ err, queue }, 'unexpected consumer failure')
      }).finally(() => { inFlight.delete(work) })
      inFlight.add(work)
    }, { noAck: false })
    if (stopped()) {
      // stop() ran while this subscription was being set up
      await channel.close().catch(() => {})
      return
    }
    current = { channel, consumerTag }
    log.info({ queue, bindings: [...handlers.keys()], prefetch }, 'consuming')
  }

  const unregister = await connection.addSetup(subscribe)

  return {
    stats,
    queue,
    isConsuming: () => current !== null,
    async stop () {
      if (stopped()) return
      stopping.abort()
      unregister()
      // a subscription being set up right now finishes (and closes itself) first
      await subscribing
      const active = current
      if (active !== null) await active.channel.cancel(active.consumerTag).catch(() => {})
      await Promise.allSettled([...inFlight])
      current = null
      if (active !== null) await active.channel.close().catch(() => {})
    }
  }
}

/**
 * The routing key a message is about: the one it was published with, or, for
 * a message an operator replayed straight to this queue (through the default
 * exchange, by queue name), the one it had before (its header).
 */
function routingKeyOf (message: ConsumeMessage): string {
  const replayed: unknown = message.properties.headers?.[REPLAYED_ROUTING_KEY_HEADER]
  return message.fields.exchange === '' && typeof replayed === 'string' ? replayed : message.fields.routingKey
}

/**
 * When the message was published (its header, set by BrokerConnection.publish),
 * else when the event says it happened: the consumer's lag is measured from
 * there. Not from occurred_at alone: a backdated order (the demo's) would read
 * as months of lag.
 */
function publishedAt (message: ConsumeMessage, event: { occurred_at: string }): number {
  const header: unknown = message.properties.headers?.[PUBLISHED_AT_HEADER]
  return typeof header === 'number' ? header : Date.parse(event.occurred_at)
}

function deliveryCount (message: ConsumeMessage): number {
  const count: unknown = message.properties.headers?.['x-delivery-count']
  return typeof count === 'number' ? count : 0
}
