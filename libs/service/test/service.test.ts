import t from 'tap'
import { sql, type Kysely, type Transaction } from 'kysely'
import { OrderCreated, type OrderCreatedEvent } from '@topup/contracts'
import { sampleOrderCreated } from '@topup/contracts/testing'
import { createInboxTable, createOutboxTable, defineHandler, enqueueEvent, type InboxDatabase, type OutboxDatabase } from '@topup/messaging'
import { buildService, loadConfig, type BuildOptions } from '@topup/service-kit'
import { waitFor } from '@topup/service-kit/testing'
import { infrastructure, serviceEnv } from '../src/index.js'
import { buildTestApp } from '../src/testing.js'

// A service of one table, built the way every event service is: what the composition gives it.

interface Database extends InboxDatabase, OutboxDatabase { seen: { event_id: string, order_id: string } }

const migrations = {
  '0001_seen': {
    async up (db: Kysely<unknown>) {
      await createInboxTable(db)
      await createOutboxTable(db)
      await db.schema.createTable('seen').addColumn('event_id', 'uuid', (c) => c.primaryKey()).addColumn('order_id', 'uuid', (c) => c.notNull()).execute()
    }
  }
}

const handlers = {
  [OrderCreated.routingKey]: defineHandler<Database, typeof OrderCreated>(OrderCreated, async (trx, event) => {
    await trx.insertInto('seen').values({ event_id: event.id, order_id: event.data.order_id }).execute()
  })
}

const TinyEnv = serviceEnv({ port: 3999, database: 'topup_tiny' })
type TinyConfig = ReturnType<typeof loadConfig<typeof TinyEnv>>

const buildTiny = async (config: TinyConfig, options: BuildOptions = {}) => await buildService({
  service: 'tiny',
  docs: { title: 'tiny', description: 'test service' },
  app: async (app, { config }) => {
    await app.register(infrastructure, { service: 'tiny', config, migrations, publishes: true, handlers })
    app.get('/api/me', { onRequest: [app.authenticate] }, async (request) => ({ sub: request.user.sub }))
  }
}, config, {}, options)

t.test('serviceEnv: the shared settings with the service\'s own port and database', async (t) => {
  const config = loadConfig(TinyEnv, { env: {} })
  t.match(config, {
    PORT: 3999,
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/topup_tiny',
    AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
    BROKER_PREFIX: '',
    AUTH_URL: 'http://127.0.0.1:3001',
    HOST: '127.0.0.1'
  })
  t.throws(() => loadConfig(TinyEnv, { env: { PORT: '70000' } }), /PORT/, 'checked like any setting')
})

t.test('infrastructure: tokens, the migrated database and messaging, in one registration', async (t) => {
  const h = await buildTestApp(t, 'tiny', async (env, options) => await buildTiny(loadConfig(TinyEnv, { env }), options))
  // typed by each service; this one is a test's
  const db = (h.app as unknown as { db: Kysely<Database> }).db
  // the database is migrated
  t.same(await db.selectFrom('seen').selectAll().execute(), [])
  // tokens are verified against the JWKS of AUTH_URL
  t.equal((await h.app.inject({ url: '/api/me' })).statusCode, 401)
  const me = await h.app.inject({ url: '/api/me', headers: h.player() })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { sub: /^[0-9a-f-]{36}$/ })
  // the consumer is subscribed (buildTestApp waited for it) and the relay publishes: an event
  // written to the outbox reaches the service's own queue and its handler, once
  t.equal(h.app.messaging.consumer?.isConsuming(), true)
  const event: OrderCreatedEvent = sampleOrderCreated()
  await db.transaction().execute(async (trx) => { await enqueueEvent(trx as Transaction<Database>, event, OrderCreated) })
  await waitFor('the event applied', async () => (await db.selectFrom('seen').selectAll().execute()).length === 1, 10_000)
  t.same(await db.selectFrom('seen').selectAll().execute(), [{ event_id: event.id, order_id: event.data.order_id }])
  t.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM inbox`.execute(db)).rows[0]?.n, 1)
  // readiness covers the database and the broker
  const ready = await h.app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200, ready.body)
})
