import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import pg from 'pg'
import { craftJwt, build, decodeJwt, foreignKey, registeredSession } from './helper.js'

t.test('profile', async (t) => {
  const { app, databaseUrl } = await build(t)
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.after(async () => { await db.end() })
  const get = async (access?: string) => await app.inject({ method: 'GET', url: '/api/profile/', headers: access === undefined ? {} : { authorization: `Bearer ${access}` } })
  const patch = async (access: string, payload: Record<string, unknown>) => await app.inject({ method: 'PATCH', url: '/api/profile/', headers: { authorization: `Bearer ${access}` }, payload })

  t.test('GET returns the profile; without a token 401', async (t) => {
    const session = await registeredSession(app)
    const res = await get(session.access)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { username: session.user.username, email: session.user.email, phone_number: null, date_of_birth: null, preferred_game: null })
    const anonymous = await get()
    t.equal(anonymous.statusCode, 401)
    t.same(anonymous.json(), { statusCode: 401, error: 'Unauthorized', message: 'Missing access token.' })
  })

  t.test('PATCH changes the given fields, null clears, the row follows', async (t) => {
    const session = await registeredSession(app)
    const res = await patch(session.access, { email: 'New.Address@Example.com', phone_number: '+44 20 7946 0958', date_of_birth: '2001-04-05', preferred_game: 'Free Fire' })
    t.equal(res.statusCode, 200, res.body)
    t.same(res.json(), { username: session.user.username, email: 'new.address@example.com', phone_number: '+44 20 7946 0958', date_of_birth: '2001-04-05', preferred_game: 'Free Fire' })
    const cleared = await patch(session.access, { phone_number: null, preferred_game: null })
    t.equal(cleared.statusCode, 200)
    t.match(cleared.json(), { email: 'new.address@example.com', phone_number: null, date_of_birth: '2001-04-05', preferred_game: null })
    const { rows } = await db.query('SELECT email, phone_number, to_char(date_of_birth, \'YYYY-MM-DD\') AS dob, preferred_game FROM users WHERE id = $1', [session.id])
    t.same(rows[0], { email: 'new.address@example.com', phone_number: null, dob: '2001-04-05', preferred_game: null })
    t.same((await get(session.access)).json(), cleared.json())
  })

  t.test('PATCH: username cannot change, bad fields 400, a taken email 409', async (t) => {
    const session = await registeredSession(app)
    const other = await registeredSession(app)
    const rename = await patch(session.access, { username: 'someone_else' })
    t.equal(rename.statusCode, 400)
    t.match(rename.json(), { details: [{ field: 'username', message: 'is not an allowed field' }] })
    for (const [payload, field] of [[{ email: 'nope' }, 'email'], [{ date_of_birth: '31/12/1999' }, 'date_of_birth'], [{ date_of_birth: '2999-01-01' }, 'date_of_birth'], [{ email: null }, 'email'], [{ preferred_game: '' }, 'preferred_game']] as const) {
      const res = await patch(session.access, payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.match(res.json(), { details: [{ field }] }, JSON.stringify(payload))
    }
    const taken = await patch(session.access, { email: other.user.email.toUpperCase() })
    t.equal(taken.statusCode, 409)
    t.match(taken.json(), { statusCode: 409, details: [{ field: 'email' }] })
    const { rows } = await db.query('SELECT username, email FROM users WHERE id = $1', [session.id])
    t.same(rows[0], { username: session.user.username, email: session.user.email }, 'unchanged')
    t.equal((await app.inject({ method: 'PATCH', url: '/api/profile/', payload: { preferred_game: 'x' } })).statusCode, 401)
  })
})

t.test('bad access tokens are refused', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const { app } = await build(t, { env: { AUTH_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } })
  const session = await registeredSession(app)
  const { header, payload } = decodeJwt(session.access)
  const now = Math.floor(Date.now() / 1000)
  const get = async (token: string) => await app.inject({ method: 'GET', url: '/api/profile/', headers: { authorization: `Bearer ${token}` } })

  // the control: a token built by hand with the service's key is accepted, so each refusal below is about its one defect
  t.equal((await get(craftJwt(header, { ...payload, iat: now, exp: now + 60 }, privateKey))).statusCode, 200, 'hand-made valid token')

  const cases: Record<string, string> = {
    'alg none': craftJwt({ ...header, alg: 'none' }, payload),
    'a foreign P-256 key': craftJwt(header, payload, foreignKey()),
    'a tampered payload': (() => {
      const [h, , s] = session.access.split('.')
      const forged = Buffer.from(JSON.stringify({ ...payload, staff: true })).toString('base64url')
      return `${h}.${forged}.${s}`
    })(),
    expired: craftJwt(header, { ...payload, iat: now - 3600, exp: now - 1800 }, privateKey),
    'another issuer': craftJwt(header, { ...payload, iss: 'someone-else' }, privateKey),
    'another audience': craftJwt(header, { ...payload, aud: 'elsewhere' }, privateKey),
    'typ other than access': craftJwt(header, { ...payload, typ: 'refresh' }, privateKey),
    'HS256 with the public key as secret': craftJwt({ ...header, alg: 'HS256' }, payload),
    garbage: 'not.a.token'
  }
  for (const [name, token] of Object.entries(cases)) {
    const res = await get(token)
    t.equal(res.statusCode, 401, name)
    t.match(res.json(), { statusCode: 401, error: 'Unauthorized', message: /access token/i }, name)
  }
  t.equal((await get(session.access)).statusCode, 200, 'the real token still works')
})
