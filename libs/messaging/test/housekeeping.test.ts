import t from 'tap'
import { sql } from 'kysely'
import { enqueueEvent, pruneInbox, pruneSentEvents } from '../src/index.js'
import { orderEvent, setupEnv } from './helper.js'
import { OrderCreated } from '@topup/contracts'

t.test('old sent events and old inbox ids are pruned; unsent events and recent ids are kept', async (t) => {
  const env = await setupEnv(t)
  const { db } = env
  const events = [orderEvent(), orderEvent(), orderEvent()]
  await db.transaction().execute(async (trx) => { for (const e of events) await enqueueEvent(trx, e, OrderCreated) })
  // one sent long ago, one sent just now, one never sent
  await db.updateTable('outbox').set({ sent_at: sql<Date>`now() - interval '8 days'` }).where('event_id', '=', events[0]?.id ?? '').execute()
  await db.updateTable('outbox').set({ sent_at: sql<Date>`now()` }).where('event_id', '=', events[1]?.id ?? '').execute()
  t.equal(await pruneSentEvents(db, 7 * 24 * 3600_000), 1)
  const left = await db.selectFrom('outbox').select('event_id').orderBy('id').execute()
  t.same(left.map((r) => r.event_id), [events[1]?.id, events[2]?.id], 'the unsent event is never pruned')

  await db.insertInto('inbox').values([
    { event_id: events[0]?.id ?? '', type: 'OrderCreated', routing_key: OrderCreated.routingKey, received_at: new Date(Date.now() - 31 * 24 * 3600_000) },
    { event_id: events[1]?.id ?? '', type: 'OrderCreated', routing_key: OrderCreated.routingKey }
  ]).execute()
  t.equal(await pruneInbox(db, 30 * 24 * 3600_000), 1)
  const ids = await db.selectFrom('inbox').select('event_id').execute()
  t.same(ids.map((r) => r.event_id), [events[1]?.id])
})
