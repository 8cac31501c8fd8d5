import { sql, type Kysely } from 'kysely'
import { Counter, Gauge, Histogram, type Registry } from '@topup/service-kit'
import type { BrokerConnection } from './connection.js'
import type { OutboxDatabase } from './outbox.js'
import { serviceQueueNames, topologyNames } from './topology.js'

/** Why a message was dead-lettered: its body was not a valid event, or its handler kept failing. */
export type DeadLetterCause = 'invalid' | 'delivery_limit'

/** What the relay and the consumer count, labelled by event type (the registry adds `service`). */
export interface MessagingMetrics {
  published: Counter<'type'>
  consumed: Counter<'type' | 'outcome'>
  retried: Counter<'type' | 'reason'>
  deadLettered: Counter<'type' | 'reason'>
  /** The handler's transaction, inbox check and commit included. */
  processing: Histogram<'type'>
  /** From the event's publication to its handler's commit here: how far behind this consumer is. */
  lag: Histogram<'type'>
}

export function messagingMetrics (registry: Registry): MessagingMetrics {
  const registers = [registry]
  return {
    published: new Counter({ name: 'events_published_total', help: 'Events the broker confirmed, from the outbox', labelNames: ['type'], registers }),
    consumed: new Counter({ name: 'events_consumed_total', help: 'Events consumed: applied, or skipped as a duplicate (already in the inbox)', labelNames: ['type', 'outcome'], registers }),
    retried: new Counter({ name: 'events_retried_total', help: 'Events tried again: the handler failed (requeued) or the database was unavailable (held)', labelNames: ['type', 'reason'], registers }),
    deadLettered: new Counter({ name: 'events_dead_lettered_total', help: 'Messages sent to the dead-letter queue: invalid, or past the delivery limit', labelNames: ['type', 'reason'], registers }),
    processing: new Histogram({ name: 'event_processing_seconds', help: 'Time to apply one event (its transaction)', labelNames: ['type'], registers, buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] }),
    lag: new Histogram({ name: 'event_lag_seconds', help: 'From an event\'s publication to its commit by this consumer', labelNames: ['type'], registers, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900] })
  }
}

/**
 * Figures read when Prometheus scrapes: the outbox backlog and the age of its
 * oldest unsent event (a relay that stopped publishing shows as a growing
 * age), and the depth of the service's queue and dead-letter queue (a
 * consumer falling behind, messages that need an operator).
 */
export function backlogMetrics<DB extends OutboxDatabase> (registry: Registry, sources: { db?: Kysely<DB>, connection: BrokerConnection, prefix: string, service?: string }): void {
  const registers = [registry]
  const { connection } = sources
  const db = sources.db as Kysely<OutboxDatabase> | undefined
  if (db !== undefined) {
    let oldestAge = 0
    new Gauge({
      name: 'outbox_unsent_events',
      help: 'Events in the outbox not yet confirmed by the broker',
      registers,
      async collect () {
        // one statement for both gauges; the partial index on unsent rows keeps it cheap
        const row = await db.selectFrom('outbox')
          .select([sql<string>`count(*)`.as('unsent'), sql<string | null>`extract(epoch from now() - min(created_at))`.as('age')])
          .where('sent_at', 'is', null)
          .executeTakeFirst()
        this.set(Number(row?.unsent ?? 0))
        oldestAge = row?.age === null || row?.age === undefined ? 0 : Number(row.age)
      }
    })
    new Gauge({
      name: 'outbox_oldest_unsent_age_seconds',
      help: 'Age of the oldest unsent outbox event (0 when none)',
      registers,
      // read by the backlog gauge's query, which runs first in the same scrape
      collect () { this.set(oldestAge) }
    })
    // a publisher's events no queue was bound for (a new contract version out before its
    // consumers): kept, but nobody gets them until an operator replays them (npm run dlq)
    const { unroutableQueue } = topologyNames(sources.prefix)
    new Gauge({
      name: 'events_unroutable_messages',
      help: 'Events waiting in topup.unroutable: published while no queue was bound to their routing key',
      registers,
      async collect () {
        const [depth] = await queueDepths(connection, [unroutableQueue])
        if (depth !== undefined) this.set(depth)
      }
    })
  }
  if (sources.service === undefined) return
  const { queue, deadLetterQueue } = serviceQueueNames(sources.prefix, sources.service)
  new Gauge({
    name: 'queue_messages',
    help: 'Messages waiting in the service\'s queue (ready for delivery) and its dead-letter queue',
    labelNames: ['queue'],
    registers,
    async collect () {
      const [events, deadLetter] = await queueDepths(connection, [queue, deadLetterQueue])
      if (events !== undefined) this.set({ queue: 'events' }, events)
      if (deadLetter !== undefined) this.set({ queue: 'dead_letter' }, deadLetter)
    }
  })
}

/** Messages ready in each queue, on a channel of the scrape's own; none while the broker is away (the gauges keep their last value). */
async function queueDepths (connection: BrokerConnection, queues: readonly string[]): Promise<number[]> {
  if (!connection.isConnected()) return []
  const channel = await connection.createChannel()
  try {
    const depths: number[] = []
    for (const queue of queues) depths.push((await channel.checkQueue(queue)).messageCount)
    return depths
  } finally {
    await channel.close().catch(() => {})
  }
}

/**
 * Every consumer series of these event types at 0 from the start: an alert on
 * "dead-lettered went up" needs a series that exists before the first one.
 */
export function initialiseConsumerSeries (metrics: MessagingMetrics, types: Iterable<string>): void {
  for (const type of types) {
    for (const outcome of ['applied', 'duplicate']) metrics.consumed.inc({ type, outcome }, 0)
    for (const reason of ['handler_failed', 'database_unavailable']) metrics.retried.inc({ type, reason }, 0)
    for (const reason of ['invalid', 'delivery_limit'] satisfies DeadLetterCause[]) metrics.deadLettered.inc({ type, reason }, 0)
  }
}
