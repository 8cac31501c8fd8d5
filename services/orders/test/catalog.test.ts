import t from 'tap'
import { build } from './helper.js'

t.test('anyone lists active games with their products; the demo catalog is loaded', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/api/games/' })
  t.equal(res.statusCode, 200)
  const games = res.json() as Array<{ name: string, game_id: string, products: Array<{ id: number, name: string, price: string }> }>
  const coc = games.find((g) => g.game_id === 'coc123')
  t.ok(coc, 'the original example game is there')
  t.same(coc?.products.find((p) => p.name === 'UC Pack 500'), { id: 4, name: 'UC Pack 500', price: '699.00', in_game_currency: '500' })
  const noSlash = await app.inject({ method: 'GET', url: '/api/games' })
  t.equal(noSlash.statusCode, 200, 'the path without trailing slash works too')
})

t.test('staff create and update games and products; players cannot', async (t) => {
  const { app, staff, player } = await build(t, { DEMO_CATALOG: 'false' })
  const anon = await app.inject({ method: 'POST', url: '/api/games/', payload: { name: 'Valorant', game_id: 'val' } })
  t.equal(anon.statusCode, 401)
  const forbidden = await app.inject({ method: 'POST', url: '/api/games/', headers: player(), payload: { name: 'Valorant', game_id: 'val' } })
  t.equal(forbidden.statusCode, 403)

  const created = await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name: 'Valorant', game_id: 'val' } })
  t.equal(created.statusCode, 201)
  const game = created.json()
  t.match(game, { name: 'Valorant', game_id: 'val', is_active: true })

  const dup = await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name: 'valorant', game_id: 'val2' } })
  t.equal(dup.statusCode, 409, 'game names are unique whatever the case')

  const product = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { game: game.id, name: 'VP 1000', price: '850.5', in_game_currency: 1000 } })
  t.equal(product.statusCode, 201)
  t.same(product.json(), { id: product.json().id, game: game.id, name: 'VP 1000', price: '850.50', in_game_currency: '1000' }, 'a whole number is stored as its digits')

  const badPrice = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { game: game.id, name: 'VP 2', price: '1.234', in_game_currency: 1 } })
  t.equal(badPrice.statusCode, 400)
  t.equal(badPrice.json().details[0].field, 'price')

  const noGame = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { game: 99999, name: 'VP 3', price: '1.00', in_game_currency: 1 } })
  t.equal(noGame.statusCode, 400)
  t.equal(noGame.json().details[0].field, 'game')

  const patched = await app.inject({ method: 'PATCH', url: `/api/products/${product.json().id as number}`, headers: staff(), payload: { price: '900.00' } })
  t.equal(patched.statusCode, 200)
  t.equal(patched.json().price, '900.00')

  const hidden = await app.inject({ method: 'PATCH', url: `/api/games/${game.id as number}`, headers: staff(), payload: { is_active: false } })
  t.equal(hidden.statusCode, 200)
  t.equal(hidden.json().is_active, false)
  const list = await app.inject({ method: 'GET', url: '/api/games/' })
  t.same(list.json(), [], 'inactive games are not listed')

  const missing = await app.inject({ method: 'PATCH', url: '/api/games/424242', headers: staff(), payload: { is_active: true } })
  t.equal(missing.statusCode, 404)
  const playerPatch = await app.inject({ method: 'PATCH', url: `/api/products/${product.json().id as number}`, headers: player(), payload: { price: '1.00' } })
  t.equal(playerPatch.statusCode, 403)
})

t.test('in_game_currency is text, as in the original catalog ("500 UC"); a whole number is kept as its digits; an order carries it as text in OrderCreated v2', async (t) => {
  const { app, staff, player } = await build(t, { DEMO_CATALOG: 'false' })
  const game = (await app.inject({ method: 'POST', url: '/api/games/', headers: staff(), payload: { name: 'battlegrounds', game_id: 'pubg01' } })).json<{ id: number }>()
  const created = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { game: game.id, name: 'UC Pack 500', price: '699.00', in_game_currency: '  500 UC ' } })
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.json().in_game_currency, '500 UC', 'stored trimmed, as text')
  const renamed = await app.inject({ method: 'PATCH', url: `/api/products/${created.json<{ id: number }>().id}`, headers: staff(), payload: { in_game_currency: 600 } })
  t.equal(renamed.json().in_game_currency, '600', 'a number becomes its digits')
  await app.inject({ method: 'PATCH', url: `/api/products/${created.json<{ id: number }>().id}`, headers: staff(), payload: { in_game_currency: '500 UC' } })
  const blank = await app.inject({ method: 'POST', url: '/api/products/', headers: staff(), payload: { game: game.id, name: 'Blank', price: '1.00', in_game_currency: ' ' } })
  t.equal(blank.statusCode, 400)
  t.match(blank.json().details, [{ field: 'in_game_currency' }])
  const listed = await app.inject({ method: 'GET', url: '/api/games/' })
  t.match(listed.json(), [{ game_id: 'pubg01', products: [{ name: 'UC Pack 500', in_game_currency: '500 UC' }] }])
  const order = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: { gamename: 'battlegrounds', game_id: 'pubg01', product_name: 'UC Pack 500', product_id: created.json<{ id: number }>().id, product_price: '699.00' } })
  t.equal(order.statusCode, 201, order.body)
  const [event] = await app.db.selectFrom('outbox').select(['routing_key', 'version', 'payload']).execute()
  t.equal(event?.routing_key, 'orders.order-created.v2')
  t.equal(event?.version, 2)
  t.match(event?.payload, { type: 'OrderCreated', version: 2, data: { product: { name: 'UC Pack 500', in_game_currency: '500 UC' } } })
})
