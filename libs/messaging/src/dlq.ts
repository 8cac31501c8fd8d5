import type { GetMessage } from 'amqplib'
import { contractFor } from '@topup/contracts'
import type { BrokerConnection } from './connection.js'
import { errorMessage } from './log.js'
import { serviceQueueNames } from './topology.js'

export interface ReplayOptions {
  connection: BrokerConnection
  prefix: string
  service: string
  /** At most this many messages (default: all that are there now). */
  limit?: number
}

export interface ReplayResult {
  replayed: number
  /** Messages left in the DLQ because their routing key could not be found. */
  skipped: number
}

/** The routing key a dead-lettered message was first published with. */
export function originalRoutingKey (message: GetMessage): string | undefined {
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

/**
 * Moves messages from a service's dead-letter queue back to the events
 * exchange under their original routing key (each republished with a confirm
 * before it is removed from the DLQ). For an operator, once the cause is fixed.
 */
export async function replayDeadLetters (options: ReplayOptions): Promise<ReplayResult> {
  const { deadLetterQueue } = serviceQueueNames(options.prefix, options.service)
  const channel = await options.connection.createChannel()
  const result: ReplayResult = { replayed: 0, skipped: 0 }
  const keep: GetMessage[] = []
  try {
    const { messageCount } = await channel.checkQueue(deadLetterQueue)
    const limit = Math.min(options.limit ?? messageCount, messageCount)
    for (let i = 0; i < limit; i++) {
      const message = await channel.get(deadLetterQueue, { noAck: false })
      if (message === false) break
      const routingKey = originalRoutingKey(message)
      if (routingKey === undefined) {
        result.skipped++
        keep.push(message)
        continue
      }
      const { headers = {}, messageId, type, correlationId } = message.properties as {
        headers?: Record<string, unknown>, messageId?: string, type?: string, correlationId?: string
      }
      const { 'x-death': _death, 'x-first-death-exchange': _e, 'x-first-death-queue': _q, 'x-first-death-reason': _r, 'x-delivery-count': _c, ...kept } = headers
      try {
        await options.connection.publish(routingKey, message.content, {
          messageId: messageId ?? '',
          type: type ?? '',
          ...(correlationId === undefined ? {} : { correlationId }),
          headers: { ...kept, 'x-replayed-from': deadLetterQueue }
        })
      } catch (err) {
        channel.nack(message, false, true)
        throw new Error(`replay stopped after ${result.replayed} messages: ${errorMessage(err)}`, { cause: err })
      }
      channel.ack(message)
      result.replayed++
    }
    for (const message of keep) channel.nack(message, false, true)
    return result
  } finally {
    await channel.close().catch(() => {})
  }
}
