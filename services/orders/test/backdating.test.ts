import t from 'tap'
import { ConfigError } from '@topup/service-kit'
import { loadOrdersConfig } from '../src/config.js'
import { parseBackdating } from '../src/backdating.js'
import { build, demoTopup } from './helper.js'

const DAY = 86_400_000

async function countOrders (app: Awaited<ReturnType<typeof build>>['app']): Promise<number> {
  const row = await app.db.selectFrom('orders').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

t.test('X-Demo-Created-At backdates the order and its OrderCreated event (development)', async (t) => {
  const { app, player } = await build(t)
  const at = new Date(Date.now() - 45 * DAY)
  at.setUTCMilliseconds(0)
  const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: { ...player(), 'x-demo-created-at': at.toISOString() }, payload: demoTopup })
  t.equal(res.statusCode, 201, res.body)
  const { order_id: orderId } = res.json() as { order_id: string }

  const order = await app.db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow()
  t.equal(order.created_at.toISOString(), at.toISOString(), 'the order has the backdated created_at')
  t.equal(order.status, 'pending')

  const events = await app.db.selectFrom('outbox').selectAll().execute()
  t.equal(events.length, 1)
  const event = events[0]?.payload as { type: string, occurred_at: string, data: { order_id: string, created_at: string } }
  t.equal(event.type, 'OrderCreated')
  t.equal(event.data.order_id, orderId)
  t.equal(event.data.created_at, at.toISOString(), 'the event carries it')
  t.equal(event.occurred_at, at.toISOString(), 'and occurred then')

  const view = await app.inject({ method: 'GET', url: `/api/orders/${orderId}`, headers: player() })
  t.equal(view.json().created_at, at.toISOString(), 'the API shows it')

  // a time-zone offset is understood; a date alone is midnight UTC
  const day = new Date(Date.now() - 10 * DAY).toISOString().slice(0, 10)
  const dateOnly = await app.inject({ method: 'POST', url: '/api/topup/', headers: { ...player(), 'x-demo-created-at': day }, payload: demoTopup })
  t.equal(dateOnly.statusCode, 201, dateOnly.body)
  const stored = await app.db.selectFrom('orders').select('created_at').where('id', '=', dateOnly.json().order_id).executeTakeFirstOrThrow()
  t.equal(stored.created_at.toISOString(), `${day}T00:00:00.000Z`)
})

t.test('a future, malformed or too old X-Demo-Created-At is a 400 naming the header, and creates nothing', async (t) => {
  const { app, player } = await build(t)
  const cases: Array<[string, string]> = [
    ['future', new Date(Date.now() + 3_600_000).toISOString()],
    ['garbage', 'yesterday-ish'],
    ['impossible date', '2026-02-30T10:00:00Z'],
    ['no time zone', '2026-01-10T10:00:00'],
    ['too old', new Date(Date.now() - 401 * DAY).toISOString()]
  ]
  for (const [name, value] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: { ...player(), 'x-demo-created-at': value, 'idempotency-key': `k-${name}` }, payload: demoTopup })
    t.equal(res.statusCode, 400, name)
    const body = res.json() as { message: string, details: Array<{ field: string }> }
    t.match(body.message, /^X-Demo-Created-At /, `${name}: the message names the header`)
    t.equal(body.details[0]?.field, 'x-demo-created-at', name)
  }
  t.equal(await countOrders(app), 0, 'no order')
  t.equal((await app.db.selectFrom('outbox').select('id').execute()).length, 0, 'no event')
  t.equal((await app.db.selectFrom('idempotency_keys').select('key').execute()).length, 0, 'no key claimed')

  // the refused key is still free for a correct request
  const ok = await app.inject({ method: 'POST', url: '/api/topup/', headers: { ...player(), 'x-demo-created-at': new Date(Date.now() - DAY).toISOString(), 'idempotency-key': 'k-future' }, payload: demoTopup })
  t.equal(ok.statusCode, 201)
})

t.test('in production the header is refused with 400 and no order is created', async (t) => {
  const { app, player } = await build(t, { NODE_ENV: 'production', DEMO_CATALOG: 'false' })
  // production loads no demo catalog: add the game and product as staff would
  const game = await app.db.insertInto('games').values({ name: demoTopup.gamename, code: demoTopup.game_id, is_active: true }).returning('id').executeTakeFirstOrThrow()
  const product = await app.db.insertInto('products').values({ game_id: game.id, name: demoTopup.product_name, price: demoTopup.product_price, in_game_currency: '500' }).returning('id').executeTakeFirstOrThrow()
  const payload = { ...demoTopup, product_id: product.id }

  const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: { ...player(), 'x-demo-created-at': new Date(Date.now() - DAY).toISOString() }, payload })
  t.equal(res.statusCode, 400)
  t.equal(res.json().message, 'Backdating is not available in production.')
  t.equal(await countOrders(app), 0, 'no order')

  const plain = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload })
  t.equal(plain.statusCode, 201, 'without the header, orders work as always')
})

t.test('DEMO_BACKDATING=false in development refuses the header too', async (t) => {
  const { app, player } = await build(t, { DEMO_BACKDATING: 'false' })
  const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: { ...player(), 'x-demo-created-at': new Date(Date.now() - DAY).toISOString() }, payload: demoTopup })
  t.equal(res.statusCode, 400)
  t.match(res.json().message, /DEMO_BACKDATING/)
  t.equal(await countOrders(app), 0)
})

t.test('config: DEMO_BACKDATING defaults by NODE_ENV and is refused in production', async (t) => {
  t.equal(loadOrdersConfig({ NODE_ENV: 'development' }).DEMO_BACKDATING, true)
  t.equal(loadOrdersConfig({ NODE_ENV: 'test' }).DEMO_BACKDATING, true)
  t.equal(loadOrdersConfig({ NODE_ENV: 'development', DEMO_BACKDATING: 'false' }).DEMO_BACKDATING, false)
  t.equal(loadOrdersConfig({ NODE_ENV: 'production' }).DEMO_BACKDATING, false)
  t.equal(loadOrdersConfig({ NODE_ENV: 'production', DEMO_BACKDATING: 'false' }).DEMO_BACKDATING, false)
  let refused: unknown
  try {
    loadOrdersConfig({ NODE_ENV: 'production', DEMO_BACKDATING: 'true' })
  } catch (err) {
    refused = err
  }
  t.ok(refused instanceof ConfigError, 'DEMO_BACKDATING=true in production is a config error')
  t.match((refused as ConfigError).problems, [/^DEMO_BACKDATING: .*production/])
  t.throws(() => loadOrdersConfig({ NODE_ENV: 'development', DEMO_BACKDATING: 'maybe' }), { name: 'ConfigError' })
})

t.test('parseBackdating', async (t) => {
  const now = new Date('2026-06-15T12:00:00Z')
  t.same(parseBackdating('2026-06-15T11:59:59Z', now), { at: new Date('2026-06-15T11:59:59Z') })
  t.same(parseBackdating('2026-06-15T17:00:00+05:30', now), { at: new Date('2026-06-15T11:30:00Z') })
  t.same(parseBackdating('2026-06-01', now), { at: new Date('2026-06-01T00:00:00Z') })
  t.same(parseBackdating('2025-05-12T12:00:00Z', now), { at: new Date('2025-05-12T12:00:00Z') }, '399 days is fine')
  t.match(parseBackdating('2026-06-15T12:00:01Z', now), { problem: /future/ })
  t.match(parseBackdating('2025-05-10T12:00:00Z', now), { problem: /400 days/ })
  t.match(parseBackdating('2026-13-01T00:00:00Z', now), { problem: /valid date/ })
  t.match(parseBackdating('2026-06-01T24:00:00Z', now), { problem: /valid date/ })
  t.match(parseBackdating('1718000000', now), { problem: /ISO-8601/ })
})
