import t from 'tap'
import { build, demoTopup, OTHER_PLAYER_ID } from './helper.js'

t.test('players see their own orders, newest first, page by page; staff see all', async (t) => {
  const { app, player, staff } = await build(t)
  const mine: string[] = []
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(), payload: demoTopup })
    mine.push(res.json().order_id)
  }
  const theirs = await app.inject({ method: 'POST', url: '/api/topup/', headers: player(OTHER_PLAYER_ID), payload: demoTopup })

  const seen: string[] = []
  let cursor: string | null = null
  do {
    const url: string = `/api/orders/?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`
    const page = await app.inject({ method: 'GET', url, headers: player() })
    t.equal(page.statusCode, 200)
    const body = page.json() as { results: Array<{ order_id: string }>, next_cursor: string | null }
    t.ok(body.results.length <= 2)
    seen.push(...body.results.map((o) => o.order_id))
    cursor = body.next_cursor
  } while (cursor !== null)
  t.same(seen, [...mine].reverse(), 'all of mine, newest first, none twice, none of theirs')

  const all = await app.inject({ method: 'GET', url: '/api/orders?limit=100', headers: staff() })
  t.equal(all.json().results.length, 6)

  const one = await app.inject({ method: 'GET', url: `/api/orders/${mine[0] ?? ''}`, headers: player() })
  t.equal(one.statusCode, 200)
  t.match(one.json(), { order_id: mine[0], status: 'pending', amount: '699.00', game: { code: 'coc123' }, product: { id: 4 } })

  const notMine = await app.inject({ method: 'GET', url: `/api/orders/${theirs.json().order_id as string}`, headers: player() })
  t.equal(notMine.statusCode, 404, "another user's order is a 404")
  const staffSees = await app.inject({ method: 'GET', url: `/api/orders/${theirs.json().order_id as string}/`, headers: staff() })
  t.equal(staffSees.statusCode, 200)

  const badCursor = await app.inject({ method: 'GET', url: '/api/orders/?cursor=garbage', headers: player() })
  t.equal(badCursor.statusCode, 400)
  t.equal(badCursor.json().details[0].field, 'cursor')
  const badId = await app.inject({ method: 'GET', url: '/api/orders/not-a-uuid', headers: player() })
  t.equal(badId.statusCode, 400)
  const anonymous = await app.inject({ method: 'GET', url: '/api/orders/' })
  t.equal(anonymous.statusCode, 401)
})
