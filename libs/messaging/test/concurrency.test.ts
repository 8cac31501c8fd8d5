import t from 'tap'
import { OrderCreated } from '@topup/contracts'
import { enqueueEvent, startConsumer, startOutboxRelay, type Consumer } from '../src/index.js'
import { effectCounts, orderEvent, recordEffect, setupEnv, sleep, unsentCount, waitFor } from './helper.js'

t.test('two relays on one database, two consumers on one queue', async (t) => {
  const env = await setupEnv(t)
  const service = 'concurrency-test'
  env.services.add(service)
  const connections = [await env.connect(), await env.connect(), await env.connect(), await env.connect()]
  for (const c of connections) await c.waitUntilConnected(10_000)
  const [relayA, relayB] = [0, 1].map((i) => {
    const connection = connections[i]
    if (connection === undefined) throw new Error('no connection')
    return startOutboxRelay({ db: env.db, connection, log: env.log, batchSize: 10, pollIntervalMs: 100, notifyUrl: env.dbUrl })
  })
  if (relayA === undefined || relayB === undefined) throw new Error('no relays')
  t.teardown(() => relayA.stop())
  t.teardown(() => relayB.stop())
  const consumers: Consumer[] = []
  for (const connection of connections.slice(2)) {
    const consumer = await startConsumer({
      connection,
      prefix: env.prefix,
      service,
      db: env.db,
      log: env.log,
      prefetch: 5,
      handlers: {
        [OrderCreated.routingKey]: {
          contract: OrderCreated,
          handle: async (trx, event) => { await sleep(2); await recordEffect(trx, event) }
        }
      }
    })
    consumers.push(consumer)
    t.teardown(() => consumer.stop())
  }

  const total = 300
  const events = Array.from({ length: total }, () => orderEvent())
  // eight writers at once, each event in its own business transaction
  await Promise.all(Array.from({ length: 8 }, async (_, w) => {
    for (let i = w; i < total; i += 8) {
      const event = events[i]
      if (event !== undefined) await env.db.transaction().execute(async (trx) => { await enqueueEvent(trx, event, OrderCreated) })
    }
  }))

  const ids = events.map((e) => e.id)
  await waitFor('every effect', async () => {
    const counts = await effectCounts(env.db)
    return ids.every((id) => counts.has(id))
  }, 40_000)
  await sleep(300)
  const counts = await effectCounts(env.db)
  t.same(ids.filter((id) => counts.get(id) !== 1), [], 'each event applied exactly once')
  t.equal(await unsentCount(env.db), 0, 'none left unsent')
  t.ok(relayA.stats.published + relayB.stats.published >= total, 'every event published')
  t.ok(relayA.stats.published > 0 && relayB.stats.published > 0, `both relays worked (${relayA.stats.published} + ${relayB.stats.published})`)
  t.equal(relayA.stats.published + relayB.stats.published, total, 'no duplicates with healthy relays')
  const handled = consumers.map((c) => c.stats.handled)
  t.ok(handled.every((n) => n > 0), `both consumers worked (${handled.join(' + ')})`)
  t.equal(handled.reduce((a, b) => a + b, 0), total)
})
