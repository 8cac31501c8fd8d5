import t from 'tap'
import { build, demoTopup, OTHER_PLAYER_ID, PLAYER_ID } from './helper.js'

t.test('a player places a top-up order; it is pending and its OrderCreated is in the outbox', async (t) => {
  const { app, player } = await build(t)
  const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: demoTopup })
  t.equal(res.statusCode, 201, res.body)
  const body = res.json()
  t.equal(body.message, 'Top-up order created successfully.')
  t.equal(body.status, 'pending')
  t.match(body.order_id, /^[0-9a-f-]{36}$/)
  t.match(body.transaction_id, /^[0-9a-f-]{36}$/)

  const order = await app.db.selectFrom('orders').selectAll().where('id', '=', body.order_id).executeTakeFirstOrThrow()
  t.match(order, { user_id: PLAYER_ID, amount: '699.00', currency: 'INR', status: 'pending', game_code: 'coc123', product_name: 'UC Pack 500' })
  const events = await app.db.selectFrom('outbox').selectAll().execute()
  t.equal(events.length, 1)
  const event = events[0]?.payload as { type: string, data: { order_id: string, transaction_id: string, amount: string, status: string } }
  t.equal(event.type, 'OrderCreated')
  t.match(event.data, { order_id: body.order_id, transaction_id: body.transaction_id, amount: '699.00', status: 'pending' })
})

t.test('the price matches exactly as a decimal, string or number', async (t) => {
  const { app, player } = await build(t)
  for (const price of [699, 699.0, '699', '699.0', '699.00']) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, product_price: price } })
    t.equal(res.statusCode, 201, `price ${JSON.stringify(price)} is accepted`)
  }
  // (a string that is not a plain decimal, "6.99e2" or " 699.00 ", is refused before: strict-input.test.ts)
  for (const price of [699.01, '699.001', '698.99', 700, '6990', '698.9999999999999999']) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, product_price: price } })
    t.equal(res.statusCode, 400, `price ${JSON.stringify(price)} is refused`)
    t.match(res.json().message, /^Product not found or doesn't match the game\. /)
  }
  const count = await app.db.selectFrom('orders').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 5, 'only the matching requests created orders')
})

t.test('each rule of docs/DESIGN.md §2.1 with its exact message', async (t) => {
  const { app, player, staff } = await build(t)
  const GAME = 'Game not found or inactive.'
  const PRODUCT = "Product not found or doesn't match the game."
  const cases: Array<[string, Record<string, unknown>, string, Array<{ field: string, message: string }>]> = [
    ['unknown game', { gamename: 'nope', game_id: 'nope1' }, GAME, [{ field: 'gamename', message: 'no game is called "nope"' }, { field: 'game_id', message: 'no game has the id "nope1"' }]],
    ['name right, code wrong', { game_id: 'coc999' }, GAME, [{ field: 'game_id', message: '"clash of clan" has the id "coc123", not "coc999"' }]],
    ['code right, name wrong', { gamename: 'clash of titans' }, GAME, [{ field: 'gamename', message: 'the game "coc123" is called "clash of clan", not "clash of titans"' }]],
    ['product of another game', { product_id: 5, product_name: 'UC 60', product_price: '75.00' }, PRODUCT, [{ field: 'product_id', message: '"clash of clan" has no product 5' }]],
    ['wrong product name', { product_name: 'UC Pack 600' }, PRODUCT, [{ field: 'product_name', message: 'product 4 is "UC Pack 500", not "UC Pack 600"' }]],
    ['wrong price', { product_price: '650.00' }, PRODUCT, [{ field: 'product_price', message: 'must be 699.00, the price of "UC Pack 500"' }]],
    ['wrong name and price', { product_name: 'UC Pack 600', product_price: 650 }, PRODUCT, [{ field: 'product_name', message: 'product 4 is "UC Pack 500", not "UC Pack 600"' }, { field: 'product_price', message: 'must be 699.00, the price of "UC Pack 500"' }]],
    ['unknown product id', { product_id: 9999 }, PRODUCT, [{ field: 'product_id', message: '"clash of clan" has no product 9999' }]]
  ]
  for (const [name, change, summary, details] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, ...change } })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().message, `${summary} ${details[0]?.field ?? ''}: ${details[0]?.message ?? ''}.`, `${name}: the message says what to fix`)
    t.same(res.json().details, details, `${name}: each field that did not match`)
  }
  // an inactive game cannot be bought
  const games = await app.inject({ method: 'GET', url: '/api/games/' })
  const coc = (games.json() as Array<{ id: number, game_id: string }>).find((g) => g.game_id === 'coc123')
  await app.inject({ method: 'PATCH', url: `/api/games/${coc?.id ?? 0}`, headers: staff(), payload: { is_active: false } })
  const inactive = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: demoTopup })
  t.equal(inactive.statusCode, 400)
  t.same(inactive.json().details, [{ field: 'game_id', message: '"clash of clan" is not on sale at the moment' }])

  const missingField = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, product_id: undefined } })
  t.equal(missingField.statusCode, 400)
  t.same(missingField.json().details, [{ field: 'product_id', message: 'is required' }])
  const negative = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, product_price: -699 } })
  t.equal(negative.statusCode, 400)
  const anonymous = await app.inject({ method: 'POST', url: '/api/topup/', payload: demoTopup })
  t.equal(anonymous.statusCode, 401)
  const outbox = await app.db.selectFrom('outbox').select('id').execute()
  t.equal(outbox.length, 0, 'no rejected request left an event behind')
  void OTHER_PLAYER_ID
})

t.test('Idempotency-Key: a retry returns the first response; a changed body is a 422', async (t) => {
  const { app, player } = await build(t)
  const headers = { ...player(), 'idempotency-key': 'retry-me-1' }
  const first = await app.inject({ method: 'POST', url: '/api/topup/', headers, payload: demoTopup })
  t.equal(first.statusCode, 201)
  const second = await app.inject({ method: 'POST', url: '/api/topup/', headers, payload: { ...demoTopup } })
  t.equal(second.statusCode, 201)
  t.same(second.json(), first.json(), 'the same response again')
  const changed = await app.inject({ method: 'POST', url: '/api/topup/', headers, payload: { ...demoTopup, product_price: '700.00' } })
  t.equal(changed.statusCode, 422)
  const otherUser = await app.inject({ method: 'POST', url: '/api/topup/', headers: { ...player(OTHER_PLAYER_ID), 'idempotency-key': 'retry-me-1' }, payload: demoTopup })
  t.equal(otherUser.statusCode, 201)
  t.not(otherUser.json().order_id, first.json().order_id, 'keys belong to one user')

  // concurrent retries with one key still create one order
  const key = { ...player(), 'idempotency-key': 'concurrent-1' }
  const results = await Promise.all(Array.from({ length: 5 }, async () => await app.inject({ method: 'POST', url: '/api/topup/', headers: key, payload: demoTopup })))
  t.same(results.map((r) => r.statusCode), [201, 201, 201, 201, 201])
  t.equal(new Set(results.map((r) => r.json().order_id)).size, 1)

  const orders = await app.db.selectFrom('orders').select('id').where('user_id', '=', PLAYER_ID).execute()
  t.equal(orders.length, 2, 'one order per key')
  const outbox = await app.db.selectFrom('outbox').select('id').execute()
  t.equal(outbox.length, 3, 'one event per order')
})

t.test('a JSON number price is compared as written, not as the float it parses to', async (t) => {
  const { app, player } = await build(t)
  const send = async (price: string, key?: string) => await app.inject({
    method: 'POST',
    url: '/api/topup/',
    headers: { ...player(), 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: JSON.stringify({ ...demoTopup, product_price: 0 }).replace('"product_price":0', `"product_price":${price}`)
  })
  t.equal((await send('698.9999999999999999')).statusCode, 400, 'a hair below the price, though it parses to 699')
  t.equal((await send('699.0000000000000001')).statusCode, 400, 'a hair above')
  t.equal((await send('6.99e2')).statusCode, 400, 'an exponent is not a plain decimal')
  t.equal((await send('699.00')).statusCode, 201)
  t.equal((await send('699')).statusCode, 201)

  // the same price spelled differently is the same request for an Idempotency-Key
  const first = await send('699', 'same-price-1')
  t.equal(first.statusCode, 201)
  const again = await app.inject({ method: 'POST', url: '/api/topup/', headers: { ...player(), 'idempotency-key': 'same-price-1' }, payload: { ...demoTopup, product_price: '699.00' } })
  t.equal(again.statusCode, 201)
  t.equal(again.json().order_id, first.json().order_id)
})
