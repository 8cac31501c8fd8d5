import { connect, type Channel } from 'amqplib'

/** Redeliveries of one message before the broker dead-letters it (quorum queue `x-delivery-limit`). */
export const DEFAULT_DELIVERY_LIMIT = 5

export interface TopologyNames {
  /** Topic exchange every event is published to. */
  exchange: string
  /** Direct exchange the service queues dead-letter to (routing key: the service). */
  deadLetterExchange: string
  /** Alternate exchange of `exchange`: events no queue is bound for yet are kept, not dropped. */
  unroutableExchange: string
  unroutableQueue: string
}

export interface ServiceQueueNames {
  queue: string
  deadLetterQueue: string
}

/** Broker names; `prefix` is empty in production and unique per test file. */
export function topologyNames (prefix: string): TopologyNames {
  return {
    exchange: `${prefix}topup.events`,
    deadLetterExchange: `${prefix}topup.dlx`,
    unroutableExchange: `${prefix}topup.unroutable`,
    unroutableQueue: `${prefix}topup.unroutable`
  }
}

export function serviceQueueNames (prefix: string, service: string): ServiceQueueNames {
  return { queue: `${prefix}${service}.events`, deadLetterQueue: `${prefix}${service}.events.dlq` }
}

/** The exchanges every publisher and consumer relies on (idempotent). */
export async function declareExchanges (channel: Channel, prefix: string): Promise<TopologyNames> {
  const names = topologyNames(prefix)
  await channel.assertExchange(names.unroutableExchange, 'fanout', { durable: true })
  await channel.assertQueue(names.unroutableQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
  await channel.bindQueue(names.unroutableQueue, names.unroutableExchange, '')
  await channel.assertExchange(names.exchange, 'topic', { durable: true, alternateExchange: names.unroutableExchange })
  await channel.assertExchange(names.deadLetterExchange, 'direct', { durable: true })
  return names
}

export interface TopologyOptions {
  prefix: string
  /** The consuming service; without it only the exchanges are declared. */
  service?: string
  /** Routing keys the service's queue is bound to. */
  bindings?: readonly string[]
  deliveryLimit?: number
}

/**
 * Declares the exchanges and, for a consuming service, its durable quorum
 * queue bound to the routing keys it handles, with bounded redelivery and a
 * dead-letter queue. Idempotent: run on every (re)connect.
 */
export async function declareTopology (channel: Channel, options: TopologyOptions): Promise<TopologyNames & Partial<ServiceQueueNames>> {
  const names = await declareExchanges(channel, options.prefix)
  if (options.service === undefined) return names
  const { queue, deadLetterQueue } = serviceQueueNames(options.prefix, options.service)
  await channel.assertQueue(deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
  await channel.bindQueue(deadLetterQueue, names.deadLetterExchange, options.service)
  await channel.assertQueue(queue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT,
      'x-dead-letter-exchange': names.deadLetterExchange,
      'x-dead-letter-routing-key': options.service
    }
  })
  for (const key of options.bindings ?? []) await channel.bindQueue(queue, names.exchange, key)
  return { ...names, queue, deadLetterQueue }
}

/** Removes a prefix's exchanges and the given services' queues (tests, teardown of a sandbox). */
export async function deleteTopology (channel: Channel, prefix: string, services: readonly string[] = []): Promise<void> {
  const names = topologyNames(prefix)
  for (const service of services) {
    const { queue, deadLetterQueue } = serviceQueueNames(prefix, service)
    await channel.deleteQueue(queue)
    await channel.deleteQueue(deadLetterQueue)
  }
  await channel.deleteQueue(names.unroutableQueue)
  await channel.deleteExchange(names.exchange)
  await channel.deleteExchange(names.deadLetterExchange)
  await channel.deleteExchange(names.unroutableExchange)
}

/** `deleteTopology` over a connection of its own, for a teardown that holds none. */
export async function deleteTopologyAt (url: string, prefix: string, services: readonly string[] = []): Promise<void> {
  const connection = await connect(url)
  try {
    await deleteTopology(await connection.createChannel(), prefix, services)
  } finally {
    await connection.close()
  }
}
