import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { ConfigError } from '@topup/service-kit'
import { loadOrdersConfig } from '../src/config.js'
import { build, demoTopup, OTHER_PLAYER_ID, PLAYER_ID, type Harness } from './helper.js'

const THIRD_PLAYER_ID = '44444444-4444-4444-8444-444444444444'

/** POST /api/topup/ as a player from an address, optionally with an Idempotency-Key. */
function topup (harness: Harness, options: { sub?: string, address?: string, key?: string, token?: false } = {}): Promise<LightMyRequestResponse> {
  return harness.app.inject({
    method: 'POST',
    url: '/api/topup/',
    remoteAddress: options.address ?? '10.0.0.1',
    headers: {
      ...(options.token === false ? {} : harness.player(options.sub ?? PLAYER_ID)),
      ...(options.key === undefined ? {} : { 'idempotency-key': options.key })
    },
    payload: demoTopup
  })
}

async function orderCount (harness: Harness): Promise<number> {
  const row = await harness.app.db.selectFrom('orders').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

t.test('a player gets ORDER_MAX_PER_USER orders per window, then a 429 with Retry-After in the platform error shape', async (t) => {
  const harness = await build(t, { ORDER_MAX_PER_USER: '3', ORDER_MAX_PER_IP: '100', ORDER_WINDOW: '1 minute' })
  for (let i = 1; i <= 3; i++) t.equal((await topup(harness)).statusCode, 201, `order ${i} of 3`)

  const refused = await topup(harness)
  t.equal(refused.statusCode, 429, refused.body)
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After is whole seconds within the window (${String(refused.headers['retry-after'])})`)
  t.match(refused.headers['content-type'], /^application\/json/)
  t.same(refused.json(), { statusCode: 429, error: 'Too Many Requests', message: `Too many orders, retry in ${retryAfter} seconds.` })
  t.equal(await orderCount(harness), 3, 'the refused request created nothing')
  t.equal((await harness.app.db.selectFrom('outbox').select('id').execute()).length, 3, 'and announced nothing')

  // from another address, the same player is still refused: the limit is the player's
  t.equal((await topup(harness, { address: '10.9.9.9' })).statusCode, 429, 'a new address does not reset the player')
  // another player is not affected
  t.equal((await topup(harness, { sub: OTHER_PLAYER_ID })).statusCode, 201, 'another player still orders')
  t.ok(harness.logs.entries().some((e) => e.msg === 'order creation throttled'), 'the refusal is logged')
})

t.test('an address gets ORDER_MAX_PER_IP orders per window across players', async (t) => {
  const harness = await build(t, { ORDER_MAX_PER_USER: '10', ORDER_MAX_PER_IP: '3' })
  t.equal((await topup(harness, { sub: PLAYER_ID })).statusCode, 201)
  t.equal((await topup(harness, { sub: OTHER_PLAYER_ID })).statusCode, 201)
  t.equal((await topup(harness, { sub: THIRD_PLAYER_ID })).statusCode, 201)
  const refused = await topup(harness, { sub: THIRD_PLAYER_ID })
  t.equal(refused.statusCode, 429, 'a fourth order from the address, whoever places it')
  t.ok(Number(refused.headers['retry-after']) >= 1)
  t.match(refused.json(), { statusCode: 429, error: 'Too Many Requests', message: /^Too many orders, retry in \d+ seconds\.$/ })
  t.equal((await topup(harness, { sub: THIRD_PLAYER_ID, address: '10.0.0.2' })).statusCode, 201, 'the same player from another address')
  t.equal(await orderCount(harness), 4)
})

t.test('authentication comes first: no token or a bad one is a 401, never a 429', async (t) => {
  const harness = await build(t, { ORDER_MAX_PER_USER: '1', ORDER_MAX_PER_IP: '1' })
  t.equal((await topup(harness)).statusCode, 201)
  t.equal((await topup(harness)).statusCode, 429, 'the address and the player are used up')
  const anonymous = await topup(harness, { token: false })
  t.equal(anonymous.statusCode, 401, anonymous.body)
  const forged = await harness.app.inject({ method: 'POST', url: '/api/topup/', remoteAddress: '10.0.0.1', headers: { authorization: 'Bearer not.a.token' }, payload: demoTopup })
  t.equal(forged.statusCode, 401, forged.body)
  for (let i = 0; i < 5; i++) await topup(harness, { token: false })
  t.equal((await topup(harness, { sub: OTHER_PLAYER_ID, address: '10.0.0.7' })).statusCode, 201, 'anonymous requests do not count against anyone')
})

t.test('an Idempotency-Key replay of a stored order is answered even when the player is limited', async (t) => {
  const harness = await build(t, { ORDER_MAX_PER_USER: '2', ORDER_MAX_PER_IP: '100' })
  const first = await topup(harness, { key: 'limited-retry-1' })
  t.equal(first.statusCode, 201)
  t.equal((await topup(harness)).statusCode, 201)
  t.equal((await topup(harness)).statusCode, 429, 'limited')

  const replay = await topup(harness, { key: 'limited-retry-1' })
  t.equal(replay.statusCode, 201, 'the retry of a placed order is answered')
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.equal(replay.json().order_id, first.json().order_id)
  const mismatch = await harness.app.inject({
    method: 'POST',
    url: '/api/topup/',
    remoteAddress: '10.0.0.1',
    headers: { ...harness.player(), 'idempotency-key': 'limited-retry-1' },
    payload: { ...demoTopup, product_price: '700.00' }
  })
  t.equal(mismatch.statusCode, 422, 'a known key with another body is still told so')
  t.equal((await topup(harness, { key: 'limited-new-key' })).statusCode, 429, 'a new key is a new order: limited')
  t.equal((await topup(harness, { key: 'limited-retry-1', sub: OTHER_PLAYER_ID })).statusCode, 201, "someone else's key is a new order of theirs")
  t.equal(await orderCount(harness), 3)
})

t.test('the window ends and orders are accepted again', async (t) => {
  const harness = await build(t, { ORDER_MAX_PER_USER: '1', ORDER_MAX_PER_IP: '100', ORDER_WINDOW: '1s' })
  t.equal((await topup(harness)).statusCode, 201)
  const refused = await topup(harness)
  t.equal(refused.statusCode, 429)
  t.equal(refused.headers['retry-after'], '1')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await topup(harness)).statusCode, 201, 'a new window')
})

t.test('0 turns a limit off', async (t) => {
  t.test('per player off, per address on', async (t) => {
    const harness = await build(t, { ORDER_MAX_PER_USER: '0', ORDER_MAX_PER_IP: '3' })
    for (let i = 0; i < 3; i++) t.equal((await topup(harness, { address: '10.1.0.1' })).statusCode, 201)
    t.equal((await topup(harness, { address: '10.1.0.1' })).statusCode, 429)
    for (let i = 0; i < 3; i++) t.equal((await topup(harness, { address: `10.1.1.${i}` })).statusCode, 201, 'the player has no limit of their own')
  })
  t.test('per address off, per player on', async (t) => {
    const harness = await build(t, { ORDER_MAX_PER_USER: '2', ORDER_MAX_PER_IP: '0' })
    for (const sub of [PLAYER_ID, OTHER_PLAYER_ID, THIRD_PLAYER_ID]) {
      t.equal((await topup(harness, { sub })).statusCode, 201)
      t.equal((await topup(harness, { sub })).statusCode, 201)
      t.equal((await topup(harness, { sub })).statusCode, 429, 'each player is still limited')
    }
  })
  t.test('both off', async (t) => {
    const harness = await build(t, { ORDER_MAX_PER_USER: '0', ORDER_MAX_PER_IP: '0' })
    const results = await Promise.all(Array.from({ length: 40 }, async () => (await topup(harness)).statusCode))
    t.same(results, results.map(() => 201), '40 orders in a burst')
  })
})

t.test('config: defaults, and a bad window or limit is refused at start', async (t) => {
  const defaults = loadOrdersConfig({ NODE_ENV: 'test' })
  t.equal(defaults.ORDER_MAX_PER_USER, 30)
  t.equal(defaults.ORDER_MAX_PER_IP, 300)
  t.equal(defaults.ORDER_WINDOW, '1 minute')
  t.equal(defaults.orderWindowMs, 60_000)
  for (const [text, ms] of [['30s', 30_000], ['15m', 900_000], ['2 hours', 7_200_000], ['500', 500], ['1.5 minutes', 90_000]] as const) {
    t.equal(loadOrdersConfig({ ORDER_WINDOW: text }).orderWindowMs, ms, `ORDER_WINDOW=${text}`)
  }
  for (const bad of ['soon', '', '0s', '-1m', '1 fortnight', '0']) {
    t.throws(() => loadOrdersConfig({ ORDER_WINDOW: bad }), ConfigError, `ORDER_WINDOW=${JSON.stringify(bad)} is refused`)
  }
  t.throws(() => loadOrdersConfig({ ORDER_WINDOW: 'soon' }), { message: /ORDER_WINDOW: must be a duration such as "1 minute", "30s" or "15m"/ })
  for (const name of ['ORDER_MAX_PER_USER', 'ORDER_MAX_PER_IP']) {
    t.throws(() => loadOrdersConfig({ [name]: '-1' }), { message: new RegExp(name) }, `${name}=-1 is refused`)
    t.throws(() => loadOrdersConfig({ [name]: 'many' }), { message: new RegExp(name) }, `${name}=many is refused`)
  }
})
