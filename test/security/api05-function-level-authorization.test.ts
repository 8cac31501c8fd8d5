/**
 * OWASP API5:2023 Broken Function Level Authorization. Every staff function
 * (catalog writes, the analytics summary behind the dashboard, the CSV
 * exports, the list of all orders) answers 401 without a token and 403 to a
 * player, checked before the body is even validated, through the gateway and
 * straight to the service that owns it; method and path tricks change
 * nothing, and nothing a refused request asked for is written.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { startPlatform } from './helpers.js'

interface StaffRoute {
  method: string
  path: string
  service: 'orders' | 'analytics'
  body?: () => Record<string, unknown>
  /** What staff get (proves the route is real, so the 401/403 are meaningful). */
  staffStatus: number
}

const suffix = (): string => randomBytes(4).toString('hex')

const ROUTES: StaffRoute[] = [
  { method: 'POST', path: '/api/games/', service: 'orders', body: () => ({ name: `BFLA Game ${suffix()}`, game_id: `bfla${suffix()}`, is_active: true }), staffStatus: 201 },
  { method: 'PATCH', path: '/api/games/2', service: 'orders', body: () => ({ is_active: true }), staffStatus: 200 },
  { method: 'POST', path: '/api/products/', service: 'orders', body: () => ({ game: 1, name: `BFLA Pack ${suffix()}`, price: '0.01', in_game_currency: 100000 }), staffStatus: 201 },
  { method: 'PATCH', path: '/api/products/4', service: 'orders', body: () => ({ price: '699.00' }), staffStatus: 200 },
  { method: 'GET', path: '/api/analytics/summary/', service: 'analytics', staffStatus: 200 },
  { method: 'GET', path: '/api/analytics/summary/?start_date=2020-01-01&end_date=2020-01-31', service: 'analytics', staffStatus: 200 },
  { method: 'HEAD', path: '/api/analytics/summary/', service: 'analytics', staffStatus: 200 },
  { method: 'GET', path: '/api/export/orders/', service: 'analytics', staffStatus: 200 },
  { method: 'HEAD', path: '/api/export/orders/', service: 'analytics', staffStatus: 200 },
  { method: 'GET', path: '/api/export/failures/', service: 'analytics', staffStatus: 200 },
  { method: 'GET', path: '/api/export/failures/?start_date=2020-01-01', service: 'analytics', staffStatus: 200 }
]

t.test('API5 broken function level authorization', async (t) => {
  const platform = await startPlatform(t)
  const player = await platform.player('bfla')
  const placed = await platform.topup(player.access)
  t.equal(placed.status, 201, 'the player has an order (so the exports and summary have data to leak)')
  const catalogBefore = await platform.http<unknown[]>('GET', '/api/games/')

  for (const route of ROUTES) {
    for (const [via, baseUrl] of [['gateway', platform.url], ['direct', platform.direct[route.service]]] as const) {
      await t.test(`${route.method} ${route.path} (${via})`, async (t) => {
        const body = route.body?.()
        const anonymous = await platform.http(route.method, route.path, { baseUrl, ...(body === undefined ? {} : { body }) })
        t.equal(anonymous.status, 401, 'no token → 401')
        const asPlayer = await platform.http(route.method, route.path, { baseUrl, token: player.access, ...(body === undefined ? {} : { body }) })
        t.equal(asPlayer.status, 403, 'a player → 403')
        if (route.method !== 'HEAD') {
          t.match(asPlayer.body, { statusCode: 403, error: 'Forbidden', message: String })
          t.notMatch(asPlayer.text, player.email, 'nothing of the data in the refusal')
          t.notMatch(asPlayer.text, placed.body.order_id)
        }
        if (body !== undefined) {
          const invalid = await platform.http(route.method, route.path, { baseUrl, token: player.access, body: { nonsense: true } })
          t.equal(invalid.status, 403, 'a player with an invalid body → 403 (the rules are not revealed)')
          const anonymousInvalid = await platform.http(route.method, route.path, { baseUrl, body: 'not json at all', headers: { 'content-type': 'application/json' } })
          t.equal(anonymousInvalid.status, 401, 'no token and a malformed body → 401')
        }
        const asStaff = await platform.http(route.method, route.path, { baseUrl, token: platform.staffToken, ...(body === undefined ? {} : { body }) })
        t.equal(asStaff.status, route.staffStatus, `staff → ${route.staffStatus}`)
      })
    }
  }

  await t.test('method and path tricks do not reach a staff function', async (t) => {
    const name = `Trick Game ${suffix()}`
    const body = { name, game_id: `trick${suffix()}`, is_active: true }
    const attempts: Array<[string, string, Record<string, string>]> = [
      ['GET', '/api/games/', { 'x-http-method-override': 'POST' }],
      ['GET', '/api/games/', { 'x-http-method': 'POST', 'x-method-override': 'POST' }],
      ['GET', '/api/games/?_method=POST', {}],
      ['POST', '/API/GAMES/', {}],
      ['POST', '/api/Games/', {}],
      ['POST', '/api/game%73/', {}],
      ['POST', '/api/games/%2e', {}],
      ['POST', '/api/games/.', {}],
      ['POST', '/api//games/', {}],
      ['POST', '/api/games/;', {}],
      ['POST', '/api/games/?staff=true', {}],
      ['PUT', '/api/games/2', {}],
      ['POST', '/api/games/', { 'x-original-url': '/api/games/', 'x-rewrite-url': '/api/games/', 'x-staff': 'true', 'x-user-role': 'staff' }]
    ]
    for (const baseUrl of [platform.url, platform.direct.orders]) {
      for (const [method, path, headers] of attempts) {
        const res = await platform.http(method, path, { baseUrl, token: player.access, headers, ...(method === 'GET' ? {} : { body }) })
        t.ok(res.status < 200 || res.status >= 300 || method === 'GET', `${method} ${path} ${Object.keys(headers).join(' ')} → ${res.status}`)
        if (method === 'GET') t.equal(res.status, 200, 'the GET is just the public list')
      }
    }
    const games = await platform.orders[0]?.db.selectFrom('games').select('name').where('name', '=', name).execute()
    t.same(games, [], 'no game was created by any of them')
    const catalogAfterTricks = await platform.http<Array<{ name: string }>>('GET', '/api/games/')
    t.notOk(catalogAfterTricks.body.some((g) => g.name.startsWith('Trick Game')), 'the public catalog has no trick game')
  })

  await t.test('a player\'s order list is never the staff list', async (t) => {
    const other = await platform.player('other')
    t.equal((await platform.topup(other.access)).status, 201)
    for (const baseUrl of [platform.url, platform.direct.orders]) {
      const mine = await platform.http<{ results: Array<{ user_id: string }> }>('GET', '/api/orders/?limit=100', { baseUrl, token: player.access })
      const all = await platform.http<{ results: Array<{ user_id: string }> }>('GET', '/api/orders/?limit=100', { baseUrl, token: platform.staffToken })
      t.ok(mine.body.results.length >= 1 && mine.body.results.every((o) => o.user_id === player.id), 'the player: own orders only')
      t.ok(all.body.results.some((o) => o.user_id === other.id) && all.body.results.some((o) => o.user_id === player.id), 'staff: everyone\'s')
    }
  })

  await t.test('the public dashboard page carries no data; the payment webhook takes no bearer token', async (t) => {
    for (const baseUrl of [platform.url, platform.direct.analytics]) {
      const page = await platform.http('GET', '/api/dashboard/', { baseUrl })
      t.equal(page.status, 200, 'the page itself is public (it shows a login)')
      t.notMatch(page.text, player.email, 'but holds no player\'s e-mail')
      t.notMatch(page.text, placed.body.order_id, 'nor an order')
      t.notMatch(page.text, /699\.00/, 'nor revenue')
    }
    for (const token of [player.access, platform.staffToken]) {
      for (const baseUrl of [platform.url, platform.direct.payments]) {
        const res = await platform.http('POST', '/api/payment/webhook/', { baseUrl, token, body: { transaction_id: placed.body.transaction_id, status: 'success' } })
        t.equal(res.status, 401, `a ${token === platform.staffToken ? 'staff' : 'player'} bearer token is no webhook signature → 401`)
      }
    }
    const transaction = await platform.waitFor(async () => await platform.payments[0]?.db.selectFrom('transactions').select('status').where('transaction_id', '=', placed.body.transaction_id).executeTakeFirst(), { what: 'the transaction' })
    t.equal(transaction.status, 'pending', 'the payment is still pending')
  })

  const catalogAfter = await platform.http<Array<{ name: string }>>('GET', '/api/games/')
  t.ok(catalogAfter.body.length >= catalogBefore.body.length, 'staff created games; players created none')
  t.notOk(catalogAfter.body.some((g) => g.name.startsWith('Trick')), 'no player-made game in the catalog')
})
