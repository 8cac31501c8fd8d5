import t, { type Test } from 'tap'
import { OrderCreated } from '@topup/contracts'
import { startConsumer, startOutboxRelay } from '../src/index.js'
import { effectCounts, enqueueOrders, recordEffect, setupEnv, sleep, unsentCount, waitFor } from './helper.js'

t.test('broker outages', async (t) => {
  const env = await setupEnv(t)
  const service = 'outage-test'
  env.services.add(service)
  const relayProxy = await env.proxy()
  const consumerProxy = await env.proxy()
  const relayConnection = await env.connect(relayProxy.url(env.amqpUrl))
  const consumerConnection = await env.connect(consumerProxy.url(env.amqpUrl))
  await relayConnection.waitUntilConnected(10_000)
  await consumerConnection.waitUntilConnected(10_000)

  const consumer = await startConsumer({
    connection: consumerConnection,
    prefix: env.prefix,
    service,
    db: env.db,
    log: env.log,
    prefetch: 10,
    handlers: {
      [OrderCreated.routingKey]: {
        contract: OrderCreated,
        handle: async (trx, event) => { await sleep(3); await recordEffect(trx, event) }
      }
    }
  })
  t.teardown(() => consumer.stop())
  const relay = startOutboxRelay({ db: env.db, connection: relayConnection, log: env.log, pollIntervalMs: 100, notifyUrl: env.dbUrl, retryInitialMs: 50, retryMaxMs: 300 })
  t.teardown(() => relay.stop())

  async function expectExactlyOnce (t: Test, ids: string[]): Promise<void> {
    await waitFor(`${ids.length} effects`, async () => {
      const counts = await effectCounts(env.db)
      return ids.every((id) => counts.has(id))
    }, 30_000)
    await sleep(300) // late duplicates would show now
    const counts = await effectCounts(env.db)
    t.same(ids.filter((id) => counts.get(id) !== 1), [], 'every event applied exactly once')
  }

  t.test('events enqueued while the broker is unreachable wait in the outbox, then all arrive once', async (t) => {
    const warmup = await enqueueOrders(env.db, 3)
    await expectExactlyOnce(t, warmup.map((e) => e.id))

    await relayProxy.cut()
    await consumerProxy.cut()
    await waitFor('the disconnects', () => !relayConnection.isConnected() && !consumerConnection.isConnected(), 5000)
    const during = await enqueueOrders(env.db, 25) // business transactions still commit
    await sleep(800)
    t.equal(await unsentCount(env.db), 25, 'all kept unsent while the broker is away')
    const applied = await effectCounts(env.db)
    t.notOk(during.some((e) => applied.has(e.id)), 'none consumed')

    await relayProxy.restore()
    await consumerProxy.restore()
    await waitFor('reconnected', () => relayConnection.isConnected() && consumerConnection.isConnected(), 10_000)
    await expectExactlyOnce(t, during.map((e) => e.id))
    t.equal(await unsentCount(env.db), 0, 'all marked sent')
    t.ok(env.logs.entries().some((e) => e.msg === 'RabbitMQ connection lost; reconnecting'), 'the outage is logged')
  })

  t.test('a consumer whose connection drops mid-stream applies every event exactly once', async (t) => {
    const events = await enqueueOrders(env.db, 200)
    const ids = events.map((e) => e.id)
    await waitFor('consumption under way', async () => {
      const counts = await effectCounts(env.db)
      return ids.filter((id) => counts.has(id)).length >= 20
    }, 10_000, 5)
    await consumerProxy.cut()
    const appliedAtCut = await effectCounts(env.db)
    t.ok(ids.filter((id) => appliedAtCut.has(id)).length < ids.length, 'cut while messages were still flowing')
    await sleep(500)
    await consumerProxy.restore()
    await expectExactlyOnce(t, ids)
    t.equal(await unsentCount(env.db), 0)
    t.comment(`consumer stats: ${JSON.stringify(consumer.stats)}`)
  })
})
