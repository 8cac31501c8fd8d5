import t from 'tap'
import { build, demoTopup, type Harness } from './helper.js'

// What docs/DESIGN.md §2 says a field is, nothing wider: each value here was accepted once.

async function orderCount (harness: Harness): Promise<number> {
  const row = await harness.app.db.selectFrom('orders').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

async function gameRows (harness: Harness): Promise<Array<{ name: string, code: string }>> {
  return await harness.app.db.selectFrom('games').select(['name', 'code']).orderBy('id').execute()
}

interface ErrorJson { statusCode: number, error: string, message: string, details?: Array<{ field: string, message: string }> }

const PRICE_PROBLEM = 'must be a decimal amount such as "699.00"'

t.test('product_price as a string is plain decimal digits with an optional fraction; anything else is a 400 naming it', async (t) => {
  const harness = await build(t)
  const { app, player } = harness
  for (const price of ['0x2BB', '0b1010111011', '0o1273', ' +699 ', '+699', ' 699.00 ', '699.', '.5', '6.99e2', '699e0', '', ' ', '-1', '-699.00', '0699', '00699.00', '699,00', '699.00 INR', 'Infinity', 'NaN', '٦٩٩']) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, product_price: price } })
    t.equal(res.statusCode, 400, `${JSON.stringify(price)} is refused`)
    const body = res.json<ErrorJson>()
    t.same(body, {
      statusCode: 400,
      error: 'Bad Request',
      message: `Invalid body: product_price ${PRICE_PROBLEM}`,
      details: [{ field: 'product_price', message: PRICE_PROBLEM }]
    }, `${JSON.stringify(price)}: the field and what is wrong, in plain words`)
  }
  for (const price of [[[699]], [699], ['699.00'], true, null, {}, { value: 699 }]) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, product_price: price } })
    t.equal(res.statusCode, 400, `${JSON.stringify(price)} is refused`)
    t.same(res.json<ErrorJson>().details, [{ field: 'product_price', message: PRICE_PROBLEM }], `${JSON.stringify(price)} names product_price`)
  }
  t.equal(await orderCount(harness), 0, 'none of them created an order')

  for (const price of ['699', '699.0', '699.00', '699.000']) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, product_price: price } })
    t.equal(res.statusCode, 201, `${JSON.stringify(price)} is accepted`)
  }
  // a plain decimal that is not the price is the catalog's business, with docs/DESIGN.md §2.1's message
  for (const price of ['0', '0.00', '698.99', '699.001', '69900']) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, product_price: price } })
    t.equal(res.statusCode, 400, `${price} is not the price`)
    t.match(res.json<ErrorJson>().message, /^Product not found or doesn't match the game\. /)
  }
})

t.test('product_price as a JSON number: plain numbers keep working, other spellings are refused like strings', async (t) => {
  const harness = await build(t)
  const send = async (literal: string) => await harness.app.inject({
    method: 'POST',
    url: '/api/topup/',
    headers: { ...harness.player(), 'content-type': 'application/json' },
    payload: JSON.stringify({ ...demoTopup, product_price: 0 }).replace('"product_price":0', `"product_price":${literal}`)
  })
  for (const literal of ['699', '699.0', '699.00']) t.equal((await send(literal)).statusCode, 201, `${literal} is accepted`)
  for (const literal of ['6.99e2', '6990E-1', '-699', '-0']) {
    const res = await send(literal)
    t.equal(res.statusCode, 400, `${literal} is refused`)
    t.same(res.json<ErrorJson>().details, [{ field: 'product_price', message: PRICE_PROBLEM }], `${literal} names product_price`)
  }
  t.match((await send('698.9999999999999999')).json<ErrorJson>().message, /^Product not found or doesn't match the game\. /, 'compared as written, not as a float')
  t.equal(await orderCount(harness), 3)
})

t.test('product_id is a JSON integer: no strings, no arrays', async (t) => {
  const harness = await build(t)
  for (const id of ['4', '0x4', ' 4', '4.0', [4], true, 4.5]) {
    const res = await harness.app.inject({ method: 'POST', url: '/api/topup/', headers: harness.player(), payload: { ...demoTopup, product_id: id } })
    t.equal(res.statusCode, 400, `${JSON.stringify(id)} is refused`)
    t.ok(res.json<ErrorJson>().details?.some((d) => d.field === 'product_id'), `${JSON.stringify(id)}: the details name product_id (${res.body})`)
  }
  for (const field of ['gamename', 'game_id', 'product_name'] as const) {
    const res = await harness.app.inject({ method: 'POST', url: '/api/topup/', headers: harness.player(), payload: { ...demoTopup, [field]: [demoTopup[field]] } })
    t.equal(res.statusCode, 400, `${field} as an array is refused`)
    t.ok(res.json<ErrorJson>().details?.some((d) => d.field === field), `the details name ${field}`)
  }
  t.equal(await orderCount(harness), 0)
  t.equal((await harness.app.inject({ method: 'POST', url: '/api/topup/', headers: harness.player(), payload: demoTopup })).statusCode, 201, 'the plain request still works')
})

const BAD_INTEGER_IDS = ['0x1', '%201', '1%20', '1e0', '+1', '01', '1.0', '-1', '0', '1_0', 'one', '99999999999']

t.test('path ids of the catalog are plain positive integers: anything else is a 400 naming id and changes nothing', async (t) => {
  const harness = await build(t)
  const { app, staff } = harness
  const before = await app.inject({ method: 'GET', url: '/api/games/' })
  for (const id of BAD_INTEGER_IDS) {
    for (const [url, payload] of [[`/api/games/${id}`, { name: 'Renamed by a bad id' }], [`/api/products/${id}`, { name: 'Renamed by a bad id' }]] as const) {
      const res = await app.inject({ method: 'PATCH', url, headers: staff(), payload })
      t.equal(res.statusCode, 400, `PATCH ${url} is refused (${res.body})`)
      t.ok(res.json<ErrorJson>().details?.some((d) => d.field === 'id'), `PATCH ${url} names id`)
    }
  }
  t.same((await app.inject({ method: 'GET', url: '/api/games/' })).json(), before.json(), 'the catalog is unchanged')
  t.equal((await app.inject({ method: 'PATCH', url: '/api/games/1', headers: staff(), payload: { is_active: true } })).statusCode, 200, 'a plain id works')
})

t.test('order ids are UUIDs and the page size a plain integer: anything else is a 400 naming the field', async (t) => {
  const harness = await build(t)
  const { app, player } = harness
  const placed = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: demoTopup })
  const orderId = placed.json<{ order_id: string }>().order_id
  for (const id of ['0x1', '1', '%201', '1e0', '+1', `%20${orderId}`, `${orderId}%20`, `urn:uuid:${orderId}`, `{${orderId}}`, orderId.replaceAll('-', ''), `${orderId}0`]) {
    const res = await app.inject({ method: 'GET', url: `/api/orders/${id}`, headers: player() })
    t.equal(res.statusCode, 400, `GET /api/orders/${id} is refused (${res.body})`)
    t.ok(res.json<ErrorJson>().details?.some((d) => d.field === 'id'), `GET /api/orders/${id} names id`)
  }
  t.equal((await app.inject({ method: 'GET', url: `/api/orders/${orderId}`, headers: player() })).statusCode, 200, 'the plain id works')
  t.equal((await app.inject({ method: 'GET', url: `/api/orders/${orderId.toUpperCase()}`, headers: player() })).statusCode, 200, 'a UUID is a UUID in either case')

  for (const limit of ['0x1', '1e1', '%2010', '+10', '010', '10.0', '0', '101']) {
    const res = await app.inject({ method: 'GET', url: `/api/orders/?limit=${limit}`, headers: player() })
    t.equal(res.statusCode, 400, `limit=${limit} is refused (${res.body})`)
    t.ok(res.json<ErrorJson>().details?.some((d) => d.field === 'limit'), `limit=${limit} names limit`)
  }
  t.equal((await app.inject({ method: 'GET', url: '/api/orders/?limit=10', headers: player() })).statusCode, 200)
})

const BLANK = 'must not be empty or only spaces'

t.test('game names and codes are trimmed and must not be blank', async (t) => {
  const harness = await build(t, { DEMO_CATALOG: 'false' })
  const { app, staff } = harness
  for (const name of ['', ' ', '   ', '\t', '\n \r', '\u00a0', '\u2003\u3000']) {
    const res = await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name, game_id: 'blank1' } })
    t.equal(res.statusCode, 400, `name ${JSON.stringify(name)} is refused`)
    t.same(res.json<ErrorJson>().details, [{ field: 'name', message: BLANK }], `name ${JSON.stringify(name)}: names the field`)
    t.equal(res.json<ErrorJson>().message, `Invalid body: name ${BLANK}`)
  }
  const code = await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name: 'Blank code', game_id: '  ' } })
  t.equal(code.statusCode, 400)
  t.same(code.json<ErrorJson>().details, [{ field: 'game_id', message: BLANK }])
  t.equal((await gameRows(harness)).length, 0, 'no game was stored')

  // the published schema is the contract: a code with spaces around it does not match its pattern
  const spaced = await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name: 'Valorant', game_id: ' val ' } })
  t.equal(spaced.statusCode, 400, 'a code outside the schema\'s pattern is refused, not trimmed into it')
  t.match(spaced.json<ErrorJson>().details, [{ field: 'game_id' }])
  const created = await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name: '  Valorant \t', game_id: 'val' } })
  t.equal(created.statusCode, 201, created.body)
  t.match(created.json(), { name: 'Valorant', game_id: 'val' }, 'stored trimmed')
  const id = created.json<{ id: number }>().id
  const dup = await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name: ' valorant', game_id: 'val2' } })
  t.equal(dup.statusCode, 409, 'the trimmed name is the one that must be unique')

  for (const name of ['', '  ']) {
    const res = await app.inject({ method: 'PATCH', url: `/api/games/${id}`, headers: staff(), payload: { name } })
    t.equal(res.statusCode, 400, `PATCH name ${JSON.stringify(name)} is refused`)
    t.same(res.json<ErrorJson>().details, [{ field: 'name', message: BLANK }])
  }
  const renamed = await app.inject({ method: 'PATCH', url: `/api/games/${id}`, headers: staff(), payload: { name: ' Valorant 2 ', game_id: 'val2' } })
  t.equal(renamed.statusCode, 200, renamed.body)
  t.match(renamed.json(), { name: 'Valorant 2', game_id: 'val2' })
  t.same(await gameRows(harness), [{ name: 'Valorant 2', code: 'val2' }], 'the row holds the trimmed values')
  const tooLong = await app.inject({ method: 'PATCH', url: `/api/games/${id}`, headers: staff(), payload: { name: `  ${'x'.repeat(100)}  ` } })
  t.equal(tooLong.statusCode, 400, 'the length limit applies to the name as sent (what the published schema says)')
  const atLimit = await app.inject({ method: 'PATCH', url: `/api/games/${id}`, headers: staff(), payload: { name: ` ${'x'.repeat(98)} ` } })
  t.equal(atLimit.statusCode, 200, 'within the limit as sent, then stored trimmed')
  t.equal(atLimit.json<{ name: string }>().name, 'x'.repeat(98))
})

t.test('product names are trimmed and must not be blank', async (t) => {
  const harness = await build(t, { DEMO_CATALOG: 'false' })
  const { app, staff } = harness
  const game = (await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name: 'Valorant', game_id: 'val' } })).json<{ id: number }>()
  for (const name of ['', '  ', '\t\n']) {
    const res = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { game: game.id, name, price: '1.00', in_game_currency: 1 } })
    t.equal(res.statusCode, 400, `name ${JSON.stringify(name)} is refused`)
    t.same(res.json<ErrorJson>().details, [{ field: 'name', message: BLANK }])
  }
  const created = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { game: game.id, name: ' VP 1000  ', price: '850.50', in_game_currency: 1000 } })
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.json<{ name: string }>().name, 'VP 1000')
  const id = created.json<{ id: number }>().id
  const blank = await app.inject({ method: 'PATCH', url: `/api/products/${id}`, headers: staff(), payload: { name: ' ' } })
  t.equal(blank.statusCode, 400)
  t.same(blank.json<ErrorJson>().details, [{ field: 'name', message: BLANK }])
  const renamed = await app.inject({ method: 'PATCH', url: `/api/products/${id}`, headers: staff(), payload: { name: '\tVP 2000 ' } })
  t.equal(renamed.statusCode, 200)
  t.equal(renamed.json<{ name: string }>().name, 'VP 2000')
  const rows = await app.db.selectFrom('products').select('name').execute()
  t.same(rows, [{ name: 'VP 2000' }])
})

t.test('catalog prices are plain decimals with at most two places, no leading zeros, as strings', async (t) => {
  const harness = await build(t, { DEMO_CATALOG: 'false' })
  const { app, staff } = harness
  const game = (await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name: 'Valorant', game_id: 'val' } })).json<{ id: number }>()
  let n = 0
  for (const price of ['0x2BB', ' 1.00', '1.', '01.00', '1e2', '-1.00', '1.234', '', 850.5, [['1.00']]]) {
    const res = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { game: game.id, name: `P${n++}`, price, in_game_currency: 1 } })
    t.equal(res.statusCode, 400, `price ${JSON.stringify(price)} is refused`)
    t.ok(res.json<ErrorJson>().details?.some((d) => d.field === 'price'), `price ${JSON.stringify(price)} names price (${res.body})`)
  }
  for (const [body, field] of [[{ game: String(game.id) }, 'game'], [{ in_game_currency: '  ' }, 'in_game_currency'], [{ in_game_currency: 1.5 }, 'in_game_currency'], [{ in_game_currency: 0 }, 'in_game_currency'], [{ game: `0x${game.id.toString(16)}` }, 'game']] as const) {
    const valid = { game: game.id, name: `P${n++}`, price: '1.00', in_game_currency: 1 }
    const res = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { ...valid, ...body } })
    t.equal(res.statusCode, 400, `${JSON.stringify(body)} is refused`)
    t.ok(res.json<ErrorJson>().details?.some((d) => d.field === field), `${JSON.stringify(body)} names ${field}`)
  }
  t.equal((await app.db.selectFrom('products').select('id').execute()).length, 0)
  for (const price of ['0', '0.5', '850.5', '850.50', '1000000']) {
    const res = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { game: game.id, name: `P${n++}`, price, in_game_currency: 1 } })
    t.equal(res.statusCode, 201, `price ${price} is accepted`)
  }
})

t.test('top-up names are matched trimmed, as stored; a blank one is a 400 naming the field', async (t) => {
  const harness = await build(t)
  const { app, player } = harness
  const spaced = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, gamename: '  clash of clan ', game_id: ' coc123', product_name: 'UC Pack 500 ' } })
  t.equal(spaced.statusCode, 201, `surrounding spaces do not matter (${spaced.body})`)
  for (const field of ['gamename', 'game_id', 'product_name'] as const) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, [field]: '   ' } })
    t.equal(res.statusCode, 400, `a blank ${field} is refused`)
    t.same(res.json<ErrorJson>().details, [{ field, message: BLANK }])
  }
  const inner = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { ...demoTopup, product_name: 'UC  Pack 500' } })
  t.equal(inner.statusCode, 400, 'spaces inside a name are part of it')
  t.match(inner.json<ErrorJson>().message, /^Product not found or doesn't match the game\. /)
  t.equal(await orderCount(harness), 1)
})
