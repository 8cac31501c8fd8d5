import t from 'tap'
import { HttpError } from '@topup/service-kit'
import { GAME_NOT_FOUND, KEY_REUSED, placeOrder, PRODUCT_MISMATCH, type PlaceOrder } from '../src/orders/place-order.js'
import { build, demoTopup, PLAYER_ID } from './helper.js'

// The use case on its own, without HTTP: what the route calls (routes/topup/index.ts).

const order = (over: Partial<PlaceOrder> = {}): PlaceOrder => ({
  player: { id: PLAYER_ID, email: 'player@example.com' },
  request: { ...demoTopup },
  at: new Date('2026-11-30T10:00:00.000Z'),
  currency: 'INR',
  correlationId: 'req-1',
  ...over
})

t.test('placeOrder writes the pending order and its OrderCreated in one transaction', async (t) => {
  const { app } = await build(t)
  const placed = await placeOrder(app.db, order())
  t.equal(placed.replayed, false)
  t.match(placed.body, { message: 'Top-up order created successfully.', status: 'pending' })
  const row = await app.db.selectFrom('orders').selectAll().where('id', '=', placed.body.order_id).executeTakeFirstOrThrow()
  t.match(row, { transaction_id: placed.body.transaction_id, user_id: PLAYER_ID, user_email: 'player@example.com', amount: '699.00', currency: 'INR', status: 'pending', game_code: 'coc123' })
  t.equal(row.created_at.toISOString(), '2026-11-30T10:00:00.000Z', 'at the given instant')
  const outbox = await app.db.selectFrom('outbox').select(['payload', 'correlation_id']).execute()
  t.equal(outbox.length, 1)
  t.equal(outbox[0]?.correlation_id, 'req-1')
  t.match(outbox[0]?.payload, { type: 'OrderCreated', data: { order_id: placed.body.order_id, amount: '699.00' } })
})

t.test('placeOrder refuses what the catalog does not hold, and writes nothing', async (t) => {
  const { app } = await build(t)
  const refused = (summary: string, field: string) => ({ statusCode: 400, message: new RegExp(`^${summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ${field}: `), details: [{ field }] })
  await t.rejects(placeOrder(app.db, order({ request: { ...demoTopup, game_id: 'nope' } })), refused(GAME_NOT_FOUND, 'game_id'))
  await t.rejects(placeOrder(app.db, order({ request: { ...demoTopup, product_price: '698.99' } })), refused(PRODUCT_MISMATCH, 'product_price'))
  await t.rejects(placeOrder(app.db, order({ request: { ...demoTopup, product_price: 'six hundred' } })), refused(PRODUCT_MISMATCH, 'product_price'), 'a price that is no decimal matches nothing')
  t.equal((await app.db.selectFrom('orders').select('id').execute()).length, 0)
  t.equal((await app.db.selectFrom('outbox').select('id').execute()).length, 0)
})

t.test('placeOrder with an idempotency key: the same request again is the first answer; another body a 422; a refused one keeps no key', async (t) => {
  const { app } = await build(t)
  await t.rejects(placeOrder(app.db, order({ idempotencyKey: 'k1', request: { ...demoTopup, product_price: '1.00' } })), { statusCode: 400, message: /^Product not found or doesn't match the game\. product_price: /, details: [{ field: 'product_price' }] })
  const first = await placeOrder(app.db, order({ idempotencyKey: 'k1' }))
  t.equal(first.replayed, false, 'the refused attempt did not keep the key')
  const again = await placeOrder(app.db, order({ idempotencyKey: 'k1' }))
  t.same(again, { body: first.body, replayed: true })
  const samePrice = await placeOrder(app.db, order({ idempotencyKey: 'k1', request: { ...demoTopup, product_price: 699 } }))
  t.same(samePrice, { body: first.body, replayed: true }, 'the same price written another way is the same request')
  await t.rejects(placeOrder(app.db, order({ idempotencyKey: 'k1', request: { ...demoTopup, gamename: 'Clash of Clan' } })), new HttpError(422, KEY_REUSED))
  t.equal((await app.db.selectFrom('orders').select('id').execute()).length, 1, 'one order for the key')
  t.equal((await app.db.selectFrom('outbox').select('id').execute()).length, 1, 'one event')
})
