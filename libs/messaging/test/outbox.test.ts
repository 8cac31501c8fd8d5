import t from 'tap'
import { EventValidationError, OrderCreated, PaymentStatusChanged } from '@topup/contracts'
import { enqueueEvent, startConsumer, startOutboxRelay } from '../src/index.js'
import { effectCounts, getMessage, orderEvent, recordEffect, setupEnv, sleep, unsentCount, waitFor } from './helper.js'

t.test('outbox → relay → consumer', async (t) => {
  const env = await setupEnv(t)
  env.services.add('orders-test')
  const connection = await env.connect()
  await connection.waitUntilConnected(10_000)
  const consumer = await startConsumer({
    connection,
    prefix: env.prefix,
    service: 'orders-test',
    db: env.db,
    log: env.log,
    handlers: { [OrderCreated.routingKey]: { contract: OrderCreated, handle: recordEffect } }
  })
  t.teardown(() => consumer.stop())
  // a long poll interval: only NOTIFY can make the relay this prompt
  const relay = startOutboxRelay({ db: env.db, connection, log: env.log, pollIntervalMs: 30_000, notifyUrl: env.dbUrl })
  t.teardown(() => relay.stop())
  await sleep(300) // the relay's first (empty) pass and LISTEN are done

  t.test('an event enqueued in a committed transaction is published, consumed once and marked sent', async (t) => {
    const event = orderEvent()
    const started = Date.now()
    await env.db.transaction().execute(async (trx) => { await enqueueEvent(trx, event, OrderCreated.routingKey) })
    await waitFor('the effect', async () => (await effectCounts(env.db)).get(event.id) === 1, 5000)
    t.ok(Date.now() - started < 3000, `woken by NOTIFY (${Date.now() - started} ms), not the 30 s poll`)
    const row = await env.db.selectFrom('outbox').selectAll().where('event_id', '=', event.id).executeTakeFirstOrThrow()
    t.ok(row.sent_at instanceof Date, 'sent_at set')
    t.same(row.payload, event)
    t.equal(row.routing_key, 'orders.order-created.v1')
    const inbox = await env.db.selectFrom('inbox').selectAll().where('event_id', '=', event.id).execute()
    t.equal(inbox.length, 1, 'recorded in the inbox')
    await sleep(300)
    t.equal((await effectCounts(env.db)).get(event.id), 1, 'applied exactly once')
  })

  t.test('an event enqueued in a rolled-back transaction is never published', async (t) => {
    const event = orderEvent()
    const before = relay.stats.published
    await t.rejects(env.db.transaction().execute(async (trx) => {
      await enqueueEvent(trx, event, OrderCreated)
      throw new Error('business rule failed')
    }), /business rule failed/)
    relay.wake()
    await sleep(500)
    t.equal(relay.stats.published, before, 'nothing published')
    t.equal((await effectCounts(env.db)).get(event.id), undefined, 'nothing consumed')
    t.equal((await env.db.selectFrom('outbox').select('id').where('event_id', '=', event.id).execute()).length, 0)
  })

  t.test('an invalid event is refused at enqueue and rolls the business transaction back', async (t) => {
    const event = orderEvent()
    const bad = { ...event, data: { ...event.data, amount: '699' } }
    await t.rejects(env.db.transaction().execute(async (trx) => { await enqueueEvent(trx, bad, OrderCreated) }), EventValidationError)
    await t.rejects(env.db.transaction().execute(async (trx) => { await enqueueEvent(trx, event, PaymentStatusChanged) }), EventValidationError, 'event of another contract')
    await t.rejects(env.db.transaction().execute(async (trx) => { await enqueueEvent(trx, event, 'orders.nope.v1') }), EventValidationError, 'unknown routing key')
    t.equal(await unsentCount(env.db), 0)
  })

  t.test('the message carries the envelope and its properties', async (t) => {
    const channel = await env.rawChannel()
    const { queue } = await channel.assertQueue('', { exclusive: true })
    await channel.bindQueue(queue, connection.exchange, OrderCreated.routingKey)
    const event = orderEvent()
    await env.db.transaction().execute(async (trx) => { await enqueueEvent(trx, event, OrderCreated) })
    const got = await getMessage(channel, queue)
    t.same(JSON.parse(got.content.toString()), event)
    t.equal(got.properties.messageId, event.id)
    t.equal(got.properties.type, 'OrderCreated')
    t.equal(got.properties.contentType, 'application/json')
    t.equal(got.properties.correlationId, event.correlation_id)
    t.equal(got.properties.deliveryMode, 2, 'persistent')
  })

  t.test('stop() lets the relay finish; counts are kept', async (t) => {
    t.ok(relay.stats.published >= 2)
    t.equal(relay.stats.failures, 0)
    t.ok(consumer.stats.handled >= 1)
  })
})
