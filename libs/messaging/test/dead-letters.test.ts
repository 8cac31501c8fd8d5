/**
 * What an operator sees of the dead-letter queue and does with it: each
 * dead-lettered message says why, after how many deliveries and since when;
 * a replay of one event (or of all) applies it once its cause is fixed, and a
 * replay of an event applied meanwhile changes nothing. The consumer's and
 * the relay's metrics count each step.
 */
import t from 'tap'
import { OrderCreated, type OrderCreatedEvent } from '@topup/contracts'
import type { Transaction } from 'kysely'
import { Registry } from '@topup/service-kit'
import {
  DEFAULT_DELIVERY_LIMIT, backlogMetrics, listDeadLetters, messagingMetrics, replayDeadLetters, serviceQueueNames, startConsumer, startOutboxRelay, topologyNames
} from '../src/index.js'
import { effectCounts, enqueueOrders, orderEvent, recordEffect, setupEnv, waitFor, type TestDatabase } from './helper.js'

/** A counter's or gauge's value for the given labels in the registry's text output (0 when absent). */
async function metricValue (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
  return value === undefined ? 0 : Number(value.value)
}

t.test('dead letters', async (t) => {
  const env = await setupEnv(t)
  const service = 'dlq-test'
  env.services.add(service)
  const connection = await env.connect()
  await connection.waitUntilConnected(10_000)
  const { exchange } = topologyNames(env.prefix)
  const { deadLetterQueue } = serviceQueueNames(env.prefix, service)
  const registry = new Registry()
  const metrics = messagingMetrics(registry)
  backlogMetrics(registry, { db: env.db, connection, prefix: env.prefix, service })

  /** Orders whose handler fails until `fixed` has them (the bug an operator waits to be fixed). */
  const broken = new Set<string>()
  async function handle (trx: Transaction<TestDatabase>, event: OrderCreatedEvent): Promise<void> {
    await recordEffect(trx, event)
    if (broken.has(event.id)) throw new Error(`the catalog has no product ${event.data.product.id}`)
  }
  const consumer = await startConsumer({
    connection, prefix: env.prefix, service, db: env.db, log: env.log, retryDelayMs: 5, metrics,
    handlers: { [OrderCreated.routingKey]: { contract: OrderCreated, handle } }
  })
  t.teardown(() => consumer.stop())
  const publisher = await env.rawChannel()
  // as the relay does: the AMQP correlation id is the event's
  const publish = (body: string, messageId: string, correlationId: string): void => {
    publisher.publish(exchange, OrderCreated.routingKey, Buffer.from(body), { messageId, correlationId, type: 'OrderCreated', persistent: true, contentType: 'application/json' })
  }
  const dlqDepth = async (): Promise<number> => (await connection.createChannel().then(async (c) => { try { return await c.checkQueue(deadLetterQueue) } finally { await c.close() } })).messageCount

  const failing = orderEvent()
  broken.add(failing.id)
  const invalid = orderEvent()
  const before = Date.now()
  publish(JSON.stringify(failing), failing.id, failing.correlation_id)
  publish(JSON.stringify({ ...invalid, data: { ...invalid.data, amount: 699 } }), invalid.id, invalid.correlation_id)
  await waitFor('both dead-lettered', async () => await dlqDepth() === 2, 20_000)

  let invalidFirstSeen: string | null = null
  await t.test('list shows each with its cause, reason, deliveries and first time, and leaves the queue as it was', async (t) => {
    const letters = await listDeadLetters({ connection, prefix: env.prefix, service })
    t.equal(letters.length, 2)
    const handlerFailed = letters.find((l) => l.eventId === failing.id)
    t.match(handlerFailed, {
      type: 'OrderCreated',
      correlationId: failing.correlation_id,
      routingKey: OrderCreated.routingKey,
      cause: 'delivery_limit',
      reason: new RegExp(`failed ${DEFAULT_DELIVERY_LIMIT + 1} times; last: the catalog has no product`),
      deliveries: DEFAULT_DELIVERY_LIMIT + 1,
      timesDeadLettered: 1
    })
    invalidFirstSeen = letters.find((l) => l.eventId === invalid.id)?.firstSeen ?? null
    const first = Date.parse(handlerFailed?.firstSeen ?? '')
    t.ok(first >= before - 1000 && first <= Date.now(), `first seen ${handlerFailed?.firstSeen}`)
    t.match(letters.find((l) => l.eventId === invalid.id), { cause: 'invalid', reason: /not a valid OrderCreated v1: \/data\/amount must be string/, deliveries: 1 })
    t.equal(await dlqDepth(), 2, 'still two in the queue after listing')
    t.equal(await metricValue(registry, 'events_dead_lettered_total', { type: 'OrderCreated', reason: 'delivery_limit' }), 1)
    t.equal(await metricValue(registry, 'events_dead_lettered_total', { type: 'OrderCreated', reason: 'invalid' }), 1)
    t.equal(await metricValue(registry, 'events_retried_total', { type: 'OrderCreated', reason: 'handler_failed' }), DEFAULT_DELIVERY_LIMIT)
    t.equal(await metricValue(registry, 'queue_messages', { queue: 'dead_letter' }), 2, 'the dead-letter queue depth')
  })

  await t.test('replay of one event id, once fixed: applied once; the other stays', async (t) => {
    broken.delete(failing.id)
    const result = await replayDeadLetters({ connection, prefix: env.prefix, service, eventIds: [failing.id, 'no-such-event'] })
    t.same(result, { replayed: 1, skipped: 0, kept: 1, notFound: ['no-such-event'] })
    await waitFor('applied after replay', async () => (await effectCounts(env.db)).get(failing.id) === 1, 10_000)
    const left = await listDeadLetters({ connection, prefix: env.prefix, service })
    t.same(left.map((l) => l.eventId), [invalid.id], 'only the invalid one is left')
    t.equal(await metricValue(registry, 'events_consumed_total', { type: 'OrderCreated', outcome: 'applied' }), 1)
    t.ok(env.logs.entries().some((e) => e.msg === 'event applied' && e.event_id === failing.id && e.correlation_id === failing.correlation_id), 'the applied line carries the correlation id')
  })

  await t.test('an event applied meanwhile, replayed again, changes nothing', async (t) => {
    // the same event dead-lettered a second time (a redelivery that failed after the first had committed)
    broken.add(failing.id)
    publish(JSON.stringify(failing), failing.id, failing.correlation_id)
    await waitFor('skipped as a duplicate', () => consumer.stats.duplicates >= 1, 10_000)
    t.equal(await dlqDepth(), 1, 'a duplicate is acked, not dead-lettered: the inbox skips it before the handler runs')
    const replay = await replayDeadLetters({ connection, prefix: env.prefix, service, eventIds: [failing.id] })
    t.same(replay, { replayed: 0, skipped: 0, kept: 1, notFound: [failing.id] }, 'nothing to replay for it')
    t.equal((await effectCounts(env.db)).get(failing.id), 1, 'applied once')
    t.equal(await metricValue(registry, 'events_consumed_total', { type: 'OrderCreated', outcome: 'duplicate' }), 1)
  })

  await t.test('replay --all puts the invalid one back; it is dead-lettered again, counted twice', async (t) => {
    const result = await replayDeadLetters({ connection, prefix: env.prefix, service })
    t.same(result, { replayed: 1, skipped: 0, kept: 0, notFound: [] })
    await waitFor('dead-lettered again', async () => {
      const letters = await listDeadLetters({ connection, prefix: env.prefix, service })
      return letters.length === 1 && letters[0]?.timesDeadLettered === 2
    }, 10_000)
    const [again] = await listDeadLetters({ connection, prefix: env.prefix, service })
    t.equal(again?.firstSeen, invalidFirstSeen, 'the first time is kept across the replay')
    t.equal((await effectCounts(env.db)).get(invalid.id), undefined, 'never applied')
  })

  await t.test('the relay counts what it publishes; the outbox backlog and its age are read on scrape', async (t) => {
    const relayRegistry = new Registry()
    const relayMetrics = messagingMetrics(relayRegistry)
    backlogMetrics(relayRegistry, { db: env.db, connection, prefix: env.prefix })
    await enqueueOrders(env.db, 3)
    await env.db.updateTable('outbox').set({ created_at: new Date(Date.now() - 60_000) }).where('sent_at', 'is', null).execute()
    t.equal(await metricValue(relayRegistry, 'outbox_unsent_events'), 3)
    t.ok(await metricValue(relayRegistry, 'outbox_oldest_unsent_age_seconds') >= 59, 'the oldest is a minute old')
    const relay = startOutboxRelay({ db: env.db, connection, log: env.log, metrics: relayMetrics, pollIntervalMs: 50 })
    t.teardown(() => relay.stop())
    await waitFor('published', () => relay.stats.published >= 3, 10_000)
    t.equal(await metricValue(relayRegistry, 'events_published_total', { type: 'OrderCreated' }), 3)
    t.equal(await metricValue(relayRegistry, 'outbox_unsent_events'), 0)
    t.equal(await metricValue(relayRegistry, 'outbox_oldest_unsent_age_seconds'), 0)
    t.equal(await metricValue(relayRegistry, 'events_unroutable_messages'), 0, 'every event reached a queue')
    // an event nobody is bound for (a version its consumers do not know yet) is kept, and shows
    publisher.publish(exchange, 'orders.order-created.v99', Buffer.from('{}'), { messageId: 'nobody-listens', persistent: true })
    await waitFor('the unroutable event to show', async () => await metricValue(relayRegistry, 'events_unroutable_messages') === 1, 10_000)
  })
})
