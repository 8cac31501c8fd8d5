import t from 'tap'
import pg from 'pg'
import { build, newUser } from './helper.js'

const registerFrom = async (app: Awaited<ReturnType<typeof build>>['app'], address: string, payload: unknown) =>
  await app.inject({ method: 'POST', url: '/api/register/', headers: { 'x-forwarded-for': address }, payload: payload as Record<string, unknown> })

t.test('registrations are limited per client address; every attempt counts', async (t) => {
  const { app, databaseUrl } = await build(t, { env: { REGISTER_MAX_PER_IP: '3', REGISTER_WINDOW: '1 second' } })
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.after(async () => { await db.end() })
  const address = '198.51.100.20'

  const taken = newUser()
  t.equal((await registerFrom(app, address, taken)).statusCode, 201, 'attempt 1: created')
  t.equal((await registerFrom(app, address, newUser({ email: taken.email }))).statusCode, 409, 'attempt 2: a taken email (an enumeration probe) counts')
  t.equal((await registerFrom(app, address, newUser({ password: 'short' }))).statusCode, 400, 'attempt 3: an invalid body counts too')

  const refused = newUser()
  const fourth = await registerFrom(app, address, refused)
  t.equal(fourth.statusCode, 429, 'attempt 4 from the same address')
  t.same(fourth.json(), { statusCode: 429, error: 'Too Many Requests', message: 'Too many registrations from this address, retry in 1 seconds.' })
  t.equal(fourth.headers['retry-after'], '1', 'Retry-After in seconds')
  t.match(fourth.headers['content-type'], /^application\/json/)
  const { rows } = await db.query('SELECT count(*)::int AS n FROM users WHERE username = $1', [refused.username])
  t.equal(rows[0].n, 0, 'the refused registration created nothing')

  t.equal((await registerFrom(app, '198.51.100.21', newUser())).statusCode, 201, 'another address has its own count')
  t.equal((await registerFrom(app, '2001:db8:5:6::1', newUser())).statusCode, 201, 'an IPv6 address')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await registerFrom(app, address, newUser())).statusCode, 201, 'after the window the address may register again')
})

t.test('a parallel burst from one address cannot pass the limit', async (t) => {
  const { app } = await build(t, { env: { REGISTER_MAX_PER_IP: '4' } })
  const results = await Promise.all(Array.from({ length: 10 }, async () => await registerFrom(app, '203.0.113.30', newUser())))
  t.same(results.map((r) => r.statusCode).sort(), [201, 201, 201, 201, 429, 429, 429, 429, 429, 429])
  const retryAfter = Number(results.find((r) => r.statusCode === 429)?.headers['retry-after'])
  t.ok(retryAfter > 590 && retryAfter <= 600, `the default window is 10 minutes (Retry-After ${retryAfter})`)
})

t.test('REGISTER_MAX_PER_IP=0 turns the limit off', async (t) => {
  const { app } = await build(t, { env: { REGISTER_MAX_PER_IP: '0' } })
  for (let i = 1; i <= 25; i++) {
    const res = await registerFrom(app, '203.0.113.40', { username: 'x' })
    t.equal(res.statusCode, 400, `attempt ${i} reaches validation`)
  }
  const last = await registerFrom(app, '203.0.113.40', newUser())
  t.equal(last.statusCode, 201, 'and is never 429')
})

t.test('the OpenAPI description lists the 429', async (t) => {
  const { app } = await build(t)
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, { post?: { responses?: Record<string, unknown> } }> }>()
  t.ok('429' in (doc.paths['/api/register/']?.post?.responses ?? {}), 'POST /api/register/ documents 429')
})
