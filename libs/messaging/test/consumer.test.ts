import t from 'tap'
import { OrderCreated, type OrderCreatedEvent } from '@topup/contracts'
import { sql, type Transaction } from 'kysely'
import { DEFAULT_DELIVERY_LIMIT, replayDeadLetters, serviceQueueNames, startConsumer, topologyNames } from '../src/index.js'
import { effectCounts, getMessage, orderEvent, recordEffect, setupEnv, sleep, waitFor, type TestDatabase } from './helper.js'

t.test('consumer', async (t) => {
  const env = await setupEnv(t)
  const service = 'consumer-test'
  env.services.add(service)
  const connection = await env.connect()
  await connection.waitUntilConnected(10_000)
  const { exchange } = topologyNames(env.prefix)
  const { deadLetterQueue } = serviceQueueNames(env.prefix, service)

  /** How often each order's handler ran; `failures` says how many first attempts throw. */
  const attempts = new Map<string, number>()
  const failures = new Map<string, number>()
  async function handle (trx: Transaction<TestDatabase>, event: OrderCreatedEvent): Promise<void> {
    const n = (attempts.get(event.id) ?? 0) + 1
    attempts.set(event.id, n)
    await recordEffect(trx, event) // rolled back when we throw below
    if (n <= (failures.get(event.id) ?? 0)) throw new Error(`transient failure #${n}`)
    // the session ended under the handler, as when PostgreSQL restarts (57P01 admin_shutdown)
    if (n <= (sessionsLost.get(event.id) ?? 0)) await sql`select pg_terminate_backend(pg_backend_pid())`.execute(trx)
  }
  const sessionsLost = new Map<string, number>()

  const consumer = await startConsumer({
    connection,
    prefix: env.prefix,
    service,
    db: env.db,
    log: env.log,
    retryDelayMs: 20,
    handlers: { [OrderCreated.routingKey]: { contract: OrderCreated, handle } }
  })
  t.teardown(() => consumer.stop())
  const publisher = await env.rawChannel()
  const dlq = await env.rawChannel()
  function publishRaw (content: Buffer | string, messageId: string, routingKey: string = OrderCreated.routingKey): void {
    publisher.publish(exchange, routingKey, Buffer.isBuffer(content) ? content : Buffer.from(content), { messageId, persistent: true, contentType: 'application/json' })
  }
  const publishEvent = (event: OrderCreatedEvent): void => { publishRaw(JSON.stringify(event), event.id) }

  t.test('the same event delivered twice is applied once', async (t) => {
    const event = orderEvent()
    publishEvent(event)
    publishEvent(event)
    await waitFor('both deliveries', () => consumer.stats.duplicates >= 1, 5000)
    t.equal((await effectCounts(env.db)).get(event.id), 1)
    t.ok(env.logs.entries().some((e) => e.msg === 'duplicate event skipped' && e.event_id === event.id))
  })

  t.test('poison messages go to the DLQ with the reason logged; the queue goes on', async (t) => {
    publishRaw('{ not json', 'poison-json')
    const invalid = orderEvent()
    const schemaViolation = { ...invalid, data: { ...invalid.data, amount: 699 } }
    publishRaw(JSON.stringify(schemaViolation), invalid.id)
    const good = orderEvent()
    publishEvent(good)
    await waitFor('the good event', async () => (await effectCounts(env.db)).get(good.id) === 1, 5000)

    const first = await getMessage(dlq, deadLetterQueue)
    const second = await getMessage(dlq, deadLetterQueue)
    t.same([first.properties.messageId, second.properties.messageId].sort(), ['poison-json', invalid.id].sort())
    t.equal(first.fields.routingKey, service, 'dead-lettered under the service routing key')

    const errors = env.logs.entries().filter((e) => e.level === 50 && e.msg === 'invalid message sent to the dead-letter queue')
    const json = errors.find((e) => e.event_id === 'poison-json')
    t.ok(json, 'bad JSON logged')
    t.match(json?.reason, /invalid JSON/)
    t.equal(json?.routing_key, OrderCreated.routingKey)
    const schema = errors.find((e) => e.event_id === invalid.id)
    t.ok(schema, 'schema violation logged')
    t.match(schema?.problems, [{ path: '/data/amount' }])
    t.equal((await effectCounts(env.db)).get(invalid.id), undefined, 'never applied')
  })

  t.test('a handler that fails at first is retried until it succeeds', async (t) => {
    const event = orderEvent()
    failures.set(event.id, 2)
    publishEvent(event)
    await waitFor('success', async () => (await effectCounts(env.db)).get(event.id) === 1, 10_000)
    t.equal(attempts.get(event.id), 3, 'two failures, then success')
    const logged = env.logs.entries().filter((e) => e.msg === 'event handler failed; the message will be redelivered' && e.event_id === event.id)
    t.equal(logged.length, 2, 'each failure logged')
    t.match(logged[0]?.err, { message: 'transient failure #1' })
  })

  t.test('the database ending the session is not the event\'s fault: held and retried past the delivery limit, applied once, never dead-lettered', async (t) => {
    const event = orderEvent()
    const lost = DEFAULT_DELIVERY_LIMIT + 3
    sessionsLost.set(event.id, lost)
    const heldBefore = consumer.stats.held
    const failedBefore = consumer.stats.failed
    publishEvent(event)
    await waitFor('success', async () => (await effectCounts(env.db)).get(event.id) === 1, 20_000)
    t.equal(attempts.get(event.id), lost + 1, `${lost} sessions lost, then success`)
    t.equal(consumer.stats.held - heldBefore, lost, 'each lost session counted as held')
    t.equal(consumer.stats.failed - failedBefore, 0, 'none counted as a handler failure')
    t.equal((await dlq.checkQueue(deadLetterQueue)).messageCount, 0, 'nothing dead-lettered')
    const warned = env.logs.entries().filter((e) => e.msg === 'database unavailable; holding the event and trying again' && e.event_id === event.id)
    t.ok(warned.length >= 1 && warned.length < lost, `logged ${warned.length} times, not once per attempt`)
    t.match(warned[0]?.reason, /terminat/)
  })

  t.test('a handler that always fails ends in the DLQ after the delivery limit; an operator can replay it', async (t) => {
    const event = orderEvent()
    failures.set(event.id, Infinity)
    publishEvent(event)
    const message = await getMessage(dlq, deadLetterQueue, 15_000)
    t.equal(message.properties.messageId, event.id)
    const tries = attempts.get(event.id) ?? 0
    t.ok(tries >= DEFAULT_DELIVERY_LIMIT && tries <= DEFAULT_DELIVERY_LIMIT + 1, `tried ${tries} times`)
    t.equal((await effectCounts(env.db)).get(event.id), undefined, 'no effect committed')
    t.ok(env.logs.entries().some((e) => e.event_id === event.id && e.msg === 'event handler failed for the last time; sent to the dead-letter queue'))
    // put it back in the DLQ (we consumed it with get) by failing once more, then fix and replay
    attempts.set(event.id, 0)
    publishEvent(event)
    await waitFor('dead-lettered again', async () => (await dlq.checkQueue(deadLetterQueue)).messageCount === 1, 15_000)
    failures.delete(event.id)
    const result = await replayDeadLetters({ connection, prefix: env.prefix, service })
    t.same(result, { replayed: 1, skipped: 0, kept: 0, notFound: [] })
    await waitFor('applied after replay', async () => (await effectCounts(env.db)).get(event.id) === 1, 5000)
    t.equal((await dlq.checkQueue(deadLetterQueue)).messageCount, 0, 'DLQ empty')
  })

  t.test('stop() cancels, waits for handlers in flight, and nothing is lost', async (t) => {
    const slow = orderEvent()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    const blocking = await startConsumer({
      connection,
      prefix: env.prefix,
      service,
      db: env.db,
      log: env.log,
      handlers: {
        [OrderCreated.routingKey]: {
          contract: OrderCreated,
          handle: async (trx, event) => { await gate; await recordEffect(trx, event) }
        }
      }
    })
    await consumer.stop() // only the blocking consumer is left on the queue
    publishEvent(slow)
    await waitFor('delivery', () => blocking.stats.received === 1, 5000)
    const stopping = blocking.stop()
    await sleep(100)
    release()
    await stopping
    t.equal((await effectCounts(env.db)).get(slow.id), 1, 'the in-flight handler finished')
    t.equal(blocking.stats.handled, 1)
  })
})
