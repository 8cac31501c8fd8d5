import t from 'tap'
import { createServer, openDatabase } from '@topup/service-kit'
import { createTestDatabase, LogCapture } from '@topup/service-kit/testing'
import { OrderCreated } from '@topup/contracts'
import type { Kysely } from 'kysely'
import { createInboxTable, createOutboxTable, defineHandlers, enqueueEvent, messaging } from '../src/index.js'
import { effectCounts, orderEvent, recordEffect, setupEnv, waitFor, type TestDatabase } from './helper.js'

t.test('the messaging plugin', async (t) => {
  const env = await setupEnv(t)
  const service = 'plugin-test'
  env.services.add(service)
  const proxy = await env.proxy()
  const url = await createTestDatabase(t, 'plugin')
  const logs = new LogCapture()
  const app = createServer({ service, logStream: logs, logLevel: 'debug' })
  await app.after()
  const db: Kysely<TestDatabase> = await openDatabase<TestDatabase>(app, {
    url,
    migrations: {
      '2026-11-25T1000_messaging': {
        async up (db: Kysely<unknown>) {
          await createOutboxTable(db)
          await createInboxTable(db)
          await db.schema.createTable('effects').addColumn('event_id', 'uuid').addColumn('order_id', 'uuid').execute()
        }
      }
    }
  })
  const handlers = defineHandlers<TestDatabase>()({
    [OrderCreated.routingKey]: { contract: OrderCreated, handle: async (trx, event) => { await recordEffect(trx, event) } }
  })
  await app.register(messaging, {
    url: proxy.url(env.amqpUrl),
    prefix: env.prefix,
    service,
    db,
    handlers,
    publishes: true,
    databaseUrl: url,
    relay: { pollIntervalMs: 200, retryInitialMs: 50, retryMaxMs: 300 },
    reconnect: { initialDelayMs: 50, maxDelayMs: 300 }
  })
  await app.ready()
  let closed = false
  t.teardown(async () => { if (!closed) await app.close() })

  await waitFor('connected', () => app.messaging.isConnected(), 10_000)
  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', checks: { broker: 'ok', database: 'ok' } })

  const event = orderEvent()
  await db.transaction().execute(async (trx) => { await enqueueEvent(trx, event, OrderCreated) })
  await waitFor('the effect', async () => (await effectCounts(db)).get(event.id) === 1, 10_000)
  t.ok(app.messaging.relay !== null && app.messaging.relay.stats.published === 1, 'published by the plugin relay')
  t.equal(app.messaging.consumer?.stats.handled, 1, 'consumed by the plugin consumer')

  await proxy.cut()
  await waitFor('disconnect', () => !app.messaging.isConnected(), 5000)
  const notReady = await app.inject({ url: '/ready' })
  t.equal(notReady.statusCode, 503)
  t.match(notReady.json(), { status: 'not_ready', checks: { broker: /unavailable/ } })
  await proxy.restore()
  await waitFor('reconnect', () => app.messaging.isConnected(), 10_000)
  t.equal((await app.inject({ url: '/ready' })).statusCode, 200, 'ready again')

  await app.close()
  closed = true
  t.notOk(app.messaging.isConnected(), 'connection closed with the app')
  t.ok(logs.entries().some((e) => e.component === 'messaging' && e.msg === 'consuming'), 'logs through the app logger')
})
