import type { GetMessage } from 'amqplib'
import { contractFor } from '@topup/contracts'
import { PUBLISHED_AT_HEADER, type BrokerConnection } from './connection.js'
import { errorMessage } from './log.js'
import { serviceQueueNames, topologyNames } from './topology.js'

/**
 * The headers the consumer puts on a message it dead-letters: why, after how
 * many deliveries, when. The first time survives a replay (a message that
 * keeps coming back is one that needs a developer).
 */
export const DEAD_LETTER_HEADERS = {
  cause: 'x-topup-dead-letter-cause',
  reason: 'x-topup-dead-letter-reason',
  deliveries: 'x-topup-deliveries',
  at: 'x-topup-dead-lettered-at',
  firstAt: 'x-topup-first-dead-lettered-at',
  count: 'x-topup-dead-letter-count',
  routingKey: 'x-topup-original-routing-key'
} as const

/**
 * The routing key of a replayed message. A replay goes to the one service
 * queue it came from (through the default exchange, by the queue's name), not
 * to the events exchange, where every service bound to the key would get the
 * event again; the consumer reads its routing key from this header.
 */
export const REPLAYED_ROUTING_KEY_HEADER = 'x-topup-routing-key'

/** Headers of a message's dead-lettered copy: its own (minus the broker's bookkeeping) and why. */
export function deadLetterHeaders (original: Record<string, unknown>, why: { routingKey: string, cause: string, reason: string, deliveries: number, at: string }): Record<string, unknown> {
  const kept = withoutBookkeeping(original)
  const firstAt = original[DEAD_LETTER_HEADERS.firstAt]
  const count = original[DEAD_LETTER_HEADERS.count]
  return {
    ...kept,
    [DEAD_LETTER_HEADERS.cause]: why.cause,
    [DEAD_LETTER_HEADERS.reason]: why.reason.slice(0, 2000),
    [DEAD_LETTER_HEADERS.deliveries]: why.deliveries,
    [DEAD_LETTER_HEADERS.at]: why.at,
    [DEAD_LETTER_HEADERS.firstAt]: typeof firstAt === 'string' ? firstAt : why.at,
    [DEAD_LETTER_HEADERS.count]: (typeof count === 'number' ? count : 0) + 1,
    [DEAD_LETTER_HEADERS.routingKey]: why.routingKey
  }
}

/** A message's headers without what the broker and the last dead-lettering added (kept: the first time and the count). */
function withoutBookkeeping (headers: Record<string, unknown>): Record<string, unknown> {
  const dropped = new Set<string>([PUBLISHED_AT_HEADER, REPLAYED_ROUTING_KEY_HEADER, 'x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason', 'x-delivery-count',
    DEAD_LETTER_HEADERS.cause, DEAD_LETTER_HEADERS.reason, DEAD_LETTER_HEADERS.deliveries, DEAD_LETTER_HEADERS.at, DEAD_LETTER_HEADERS.routingKey])
  return Object.fromEntries(Object.entries(headers).filter(([key]) => !dropped.has(key)))
}

/** One message in a dead-letter queue, as an operator reads it. */
export interface DeadLetter {
  eventId: string | null
  type: string | null
  correlationId: string | null
  routingKey: string | null
  /** `invalid` / `delivery_limit` (the consumer's), or the broker's own reason (`delivery_limit` when a process kept dying mid-message, `rejected`). */
  cause: string
  reason: string
  /** Deliveries before it was dead-lettered, when known. */
  deliveries: number | null
  /** When it was first dead-lettered (ISO), when known; and how many times it has been. */
  firstSeen: string | null
  timesDeadLettered: number
}

interface BrokerDeath { reason?: unknown, count?: unknown, time?: unknown, 'routing-keys'?: unknown }

/** What a dead-lettered message says about itself. */
export function describeDeadLetter (message: GetMessage): DeadLetter {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>
  const deaths = Array.isArray(headers['x-death']) ? headers['x-death'] as BrokerDeath[] : []
  const death = deaths[0]
  const text = (value: unknown): string | null => typeof value === 'string' && value !== '' ? value : null
  const count = (value: unknown): number | null => typeof value === 'number' ? value : null
  const brokerTime = (value: unknown): string | null => {
    // amqplib reads an AMQP timestamp as seconds since the epoch
    const seconds = typeof value === 'number' ? value : count((value as { value?: unknown } | undefined)?.value)
    return seconds === null ? null : new Date(seconds * 1000).toISOString()
  }
  const { messageId, type, correlationId } = message.properties as { messageId?: unknown, type?: unknown, correlationId?: unknown }
  const ours = text(headers[DEAD_LETTER_HEADERS.cause])
  return {
    eventId: text(messageId),
    type: text(type),
    correlationId: text(correlationId),
    routingKey: originalRoutingKey(message) ?? null,
    cause: ours ?? text(death?.reason) ?? 'unknown',
    reason: text(headers[DEAD_LETTER_HEADERS.reason]) ?? (death === undefined ? 'no reason recorded' : `dead-lettered by the broker (${String(death.reason)})`),
    deliveries: count(headers[DEAD_LETTER_HEADERS.deliveries]) ?? count(headers['x-delivery-count']),
    firstSeen: text(headers[DEAD_LETTER_HEADERS.firstAt]) ?? brokerTime(death?.time),
    timesDeadLettered: count(headers[DEAD_LETTER_HEADERS.count]) ?? count(death?.count) ?? 1
  }
}

export interface ReplayOptions {
  connection: BrokerConnection
  prefix: string
  service: string
  /** At most this many messages (default: all that are there now). */
  limit?: number
  /** Only the messages with these event ids (default: every one). */
  eventIds?: readonly string[]
}

export interface ReplayResult {
  replayed: number
  /** Messages left in the DLQ because their routing key could not be found. */
  skipped: number
  /** Messages left in the DLQ because they were not asked for. */
  kept: number
  /** Asked-for event ids that were not in the DLQ. */
  notFound: string[]
}

/** The routing key a dead-lettered message was first published with. */
export function originalRoutingKey (message: GetMessage): string | undefined {
  const ours: unknown = message.properties.headers?.[DEAD_LETTER_HEADERS.routingKey]
  if (typeof ours === 'string' && ours !== '') return ours
  const deaths: unknown = message.properties.headers?.['x-death']
  if (Array.isArray(deaths)) {
    for (const death of deaths as unknown[]) {
      const keys = (death as { 'routing-keys'?: unknown })['routing-keys']
      if (Array.isArray(keys) && typeof keys[0] === 'string') return keys[0]
    }
  }
  try {
    const body = JSON.parse(message.content.toString('utf8')) as { type?: unknown, version?: unknown }
    if (typeof body.type === 'string' && typeof body.version === 'number') return contractFor(body.type, body.version)?.routingKey
  } catch {
    // not JSON: nothing more to learn
  }
  return undefined
}

/** Every message in a queue, each put back (unacknowledged gets, returned at the end): the queue is unchanged. */
async function peekQueue (connection: BrokerConnection, queue: string): Promise<GetMessage[]> {
  const channel = await connection.createChannel()
  try {
    const { messageCount } = await channel.checkQueue(queue)
    const held: GetMessage[] = []
    for (let i = 0; i < messageCount; i++) {
      const message = await channel.get(queue, { noAck: false })
      if (message === false) break
      held.push(message)
    }
    // all back, in the order they came
    if (held.length > 0) channel.nackAll(true)
    return held
  } finally {
    await channel.close().catch(() => {})
  }
}

/** Reads every message in a service's dead-letter queue, and leaves the queue as it was. */
export async function listDeadLetters (options: { connection: BrokerConnection, prefix: string, service: string }): Promise<DeadLetter[]> {
  const { deadLetterQueue } = serviceQueueNames(options.prefix, options.service)
  return (await peekQueue(options.connection, deadLetterQueue)).map(describeDeadLetter)
}

/**
 * The events in `topup.unroutable`: published while no queue was bound to
 * their routing key (a producer upgraded to a new contract version before its
 * consumers, docs/DESIGN.md §3.2), kept by the events exchange's alternate
 * exchange instead of dropped. The queue is left as it was.
 */
export async function listUnroutable (options: { connection: BrokerConnection, prefix: string }): Promise<DeadLetter[]> {
  const { unroutableQueue } = topologyNames(options.prefix)
  return (await peekQueue(options.connection, unroutableQueue)).map((message) => {
    const publishedAt: unknown = message.properties.headers?.[PUBLISHED_AT_HEADER]
    const seconds: unknown = message.properties.timestamp
    const firstSeen = typeof publishedAt === 'number' ? new Date(publishedAt).toISOString() : typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null
    return {
      ...describeDeadLetter(message),
      routingKey: message.fields.routingKey,
      cause: 'unroutable',
      reason: `no queue was bound to ${message.fields.routingKey} when it was published`,
      // never delivered to anyone; seen first when it was published
      deliveries: 0,
      firstSeen
    }
  })
}

/** Where a moved message goes: an exchange and a routing key, and the headers it gets on the way. */
type Destination = (message: GetMessage) => { exchange: string, routingKey: string, headers: Record<string, unknown> } | undefined

/**
 * Moves messages from `from` (each republished with a confirm before it is
 * removed there): all of them, or those with the given event ids. One that
 * has no destination (no routing key to be found) stays.
 */
async function moveMessages (connection: BrokerConnection, from: string, options: { limit?: number, eventIds?: readonly string[] }, destination: Destination): Promise<ReplayResult> {
  const channel = await connection.createChannel()
  const wanted = options.eventIds === undefined ? null : new Set(options.eventIds)
  const result: ReplayResult = { replayed: 0, skipped: 0, kept: 0, notFound: [] }
  const found = new Set<string>()
  const keep: GetMessage[] = []
  try {
    const { messageCount } = await channel.checkQueue(from)
    const limit = Math.min(options.limit ?? messageCount, messageCount)
    for (let i = 0; i < messageCount && result.replayed < limit; i++) {
      const message = await channel.get(from, { noAck: false })
      if (message === false) break
      const { messageId, type, correlationId } = message.properties as { messageId?: string, type?: string, correlationId?: string }
      if (wanted !== null && (messageId === undefined || !wanted.has(messageId))) {
        result.kept++
        keep.push(message)
        continue
      }
      if (messageId !== undefined) found.add(messageId)
      const to = destination(message)
      if (to === undefined) {
        result.skipped++
        keep.push(message)
        continue
      }
      try {
        await connection.publish(to.routingKey, message.content, {
          exchange: to.exchange,
          messageId: messageId ?? '',
          type: type ?? '',
          ...(correlationId === undefined ? {} : { correlationId }),
          headers: { ...to.headers, 'x-replayed-from': from, 'x-replayed-at': new Date().toISOString() }
        })
      } catch (err) {
        channel.nack(message, false, true)
        for (const kept of keep) channel.nack(kept, false, true)
        throw new Error(`replay stopped after ${result.replayed} messages: ${errorMessage(err)}`, { cause: err })
      }
      channel.ack(message)
      result.replayed++
    }
    for (const message of keep) channel.nack(message, false, true)
    if (wanted !== null) result.notFound = [...wanted].filter((id) => !found.has(id))
    return result
  } finally {
    await channel.close().catch(() => {})
  }
}

const headersOf = (message: GetMessage): Record<string, unknown> => (message.properties.headers ?? {}) as Record<string, unknown>

/**
 * Moves messages from a service's dead-letter queue back to that service's
 * queue, with their original routing key: all of them, or those with the
 * given event ids. The other services that consume the same events are not
 * sent them again. For an operator, once the cause is fixed; an event that
 * was applied meanwhile is skipped by the consumer's inbox.
 */
export async function replayDeadLetters (options: ReplayOptions): Promise<ReplayResult> {
  const { queue, deadLetterQueue } = serviceQueueNames(options.prefix, options.service)
  return await moveMessages(options.connection, deadLetterQueue, options, (message) => {
    const routingKey = originalRoutingKey(message)
    // the default exchange routes by queue name: to this service's queue only
    return routingKey === undefined ? undefined : { exchange: '', routingKey: queue, headers: { ...withoutBookkeeping(headersOf(message)), [REPLAYED_ROUTING_KEY_HEADER]: routingKey } }
  })
}

/**
 * Publishes the events of `topup.unroutable` again to the events exchange
 * under their routing key, for every service now bound to it (once the
 * consumers of a new contract version run). One still without a queue comes
 * back to `topup.unroutable`; a consumer that had it already skips it.
 */
export async function replayUnroutable (options: { connection: BrokerConnection, prefix: string, eventIds?: readonly string[] }): Promise<ReplayResult> {
  const { exchange, unroutableQueue } = topologyNames(options.prefix)
  return await moveMessages(options.connection, unroutableQueue, options, (message) => ({ exchange, routingKey: message.fields.routingKey, headers: withoutBookkeeping(headersOf(message)) }))
}
