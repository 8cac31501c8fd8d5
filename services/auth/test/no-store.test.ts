import t from 'tap'
import { build, registeredSession } from './helper.js'

type Injected = Awaited<ReturnType<Awaited<ReturnType<typeof build>>['app']['inject']>>

t.test('token and profile responses are never stored by a cache, successes and errors alike', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_PER_ACCOUNT: '1' } })
  const session = await registeredSession(app)
  const post = async (url: string, payload: unknown, headers: Record<string, string> = {}): Promise<Injected> =>
    await app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers })
  const bearer = { authorization: `Bearer ${session.access}` }

  const loggedIn = await post('/api/token/', { username: session.user.username, password: session.user.password })
  const rotated = await post('/api/token/refresh/', { refresh: loggedIn.json<{ refresh: string }>().refresh })
  const cases: Array<[string, number, Injected]> = [
    ['POST /api/token/ 200', 200, loggedIn],
    ['POST /api/token/ 401', 401, await post('/api/token/', { username: session.user.username, password: 'Wrong-password-1' })],
    ['POST /api/token/ 429', 429, await post('/api/token/', { username: session.user.username, password: 'Wrong-password-2' })],
    ['POST /api/token/ 400', 400, await post('/api/token/', { username: session.user.username })],
    ['POST /api/token/refresh/ 200', 200, rotated],
    ['POST /api/token/refresh/ 401', 401, await post('/api/token/refresh/', { refresh: 'not-a-token' })],
    ['POST /api/token/refresh/ 400', 400, await post('/api/token/refresh/', {})],
    ['POST /api/logout/ 204', 204, await post('/api/logout/', { refresh: rotated.json<{ refresh: string }>().refresh })],
    ['GET /api/profile/ 200', 200, await app.inject({ method: 'GET', url: '/api/profile/', headers: bearer })],
    ['GET /api/profile/ 401', 401, await app.inject({ method: 'GET', url: '/api/profile/' })],
    ['PATCH /api/profile/ 200', 200, await app.inject({ method: 'PATCH', url: '/api/profile/', headers: bearer, payload: { preferred_game: 'PUBG' } })],
    ['PATCH /api/profile/ 400', 400, await app.inject({ method: 'PATCH', url: '/api/profile/', headers: bearer, payload: { username: 'renamed' } })]
  ]
  for (const [name, status, res] of cases) {
    t.equal(res.statusCode, status, `${name}: ${res.body}`)
    t.equal(res.headers['cache-control'], 'no-store', `${name}: Cache-Control`)
    t.equal(res.headers.pragma, 'no-cache', `${name}: Pragma`)
  }
})

// cacheable, but no longer than the services keep a key (60 s): a removed key must stop being accepted
t.test('the public keys stay cacheable, for a minute', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'public, max-age=60')
  t.equal(res.headers.pragma, undefined)
})
