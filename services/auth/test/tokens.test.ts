import t from 'tap'
import pg from 'pg'
import { build, decodeJwt, login, newUser, register, registeredSession } from './helper.js'

t.test('tokens', async (t) => {
  const { app, databaseUrl } = await build(t)
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.after(async () => { await db.end() })
  const refresh = async (token: string) => await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: token } })
  const profileWith = async (access: string) => await app.inject({ method: 'GET', url: '/api/profile/', headers: { authorization: `Bearer ${access}` } })
  const familyOf = async (token: string): Promise<Array<{ used: boolean, revoked: boolean }>> => {
    const { rows } = await db.query(`
      SELECT used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked FROM refresh_tokens
      WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex'))
      ORDER BY created_at, id`, [token])
    return rows
  }

  t.test('login: 200 with an ES256 access token and an opaque refresh token stored only as a hash', async (t) => {
    const user = newUser()
    const { id } = await register(app, user)
    const res = await login(app, user.username.toUpperCase(), user.password)
    t.equal(res.statusCode, 200, JSON.stringify(res.body))
    const { access, refresh: refreshToken } = res.body as { access: string, refresh: string }
    const { header, payload } = decodeJwt(access)
    t.equal(header.alg, 'ES256')
    t.type(header.kid, 'string')
    t.match(payload, { sub: id, username: user.username, email: user.email, staff: false, typ: 'access', iss: 'topup-auth', aud: 'topup-platform' })
    t.equal(Number(payload.exp) - Number(payload.iat), 15 * 60, '15 minutes')
    t.match(res.body, { token_type: 'Bearer', expires_in: 900 }, 'the response says how long the access token works (RFC 6749 §5.1)')
    t.match(refreshToken, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url')
    const { rows } = await db.query('SELECT token_hash, user_id, expires_at - created_at AS ttl FROM refresh_tokens WHERE user_id = $1', [id])
    t.equal(rows.length, 1)
    t.not(rows[0].token_hash, refreshToken)
    t.equal(rows[0].token_hash.length, 64)
    t.same(rows[0].ttl, { days: 7 })
    const { rows: raw } = await db.query('SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash = $1', [refreshToken])
    t.equal(raw[0].n, 0, 'the token itself is not stored')
    t.equal((await profileWith(access)).statusCode, 200)
  })

  t.test('wrong password and unknown user: the same 401', async (t) => {
    const user = newUser()
    await register(app, user)
    const wrong = await login(app, user.username, `${user.password}x`)
    const unknown = await login(app, `nobody_${Date.now()}`, user.password)
    t.equal(wrong.statusCode, 401)
    t.equal(unknown.statusCode, 401)
    t.same(wrong.body, unknown.body)
    t.same(wrong.body, { statusCode: 401, error: 'Unauthorized', message: 'Invalid username or password.' })
    t.notOk('access' in wrong.body)
    t.equal(wrong.headers['www-authenticate'], 'Bearer realm="topup"', 'a 401 names the scheme')
  })

  t.test('refresh rotates; reusing an old token revokes the whole family', async (t) => {
    const session = await registeredSession(app)
    const first = await refresh(session.refresh)
    t.equal(first.statusCode, 200, first.body)
    const second = first.json<{ access: string, refresh: string }>()
    t.match(first.json(), { token_type: 'Bearer', expires_in: 900 }, 'a refresh answers the same shape')
    t.not(second.refresh, session.refresh)
    t.equal(decodeJwt(second.access).payload.sub, session.id)
    t.equal((await profileWith(second.access)).statusCode, 200)
    const third = await refresh(second.refresh)
    t.equal(third.statusCode, 200)
    const newest = third.json<{ refresh: string }>().refresh
    t.same(await familyOf(newest), [{ used: true, revoked: false }, { used: true, revoked: false }, { used: false, revoked: false }])

    const reuse = await refresh(session.refresh)
    t.equal(reuse.statusCode, 401)
    t.match(reuse.json(), { statusCode: 401, error: 'Unauthorized' })
    t.same((await familyOf(newest)).map((r) => r.revoked), [true, true, true], 'the revocation was committed')
    const afterReuse = await refresh(newest)
    t.equal(afterReuse.statusCode, 401, 'the newest token of the family is dead too')
  })

  t.test('a concurrent double use ends with the family revoked, not two valid children', async (t) => {
    const session = await registeredSession(app)
    // hold the token's row so the three requests really overlap, then let them go together
    const holder = new pg.Client({ connectionString: databaseUrl })
    await holder.connect()
    t.after(async () => { await holder.end() })
    await holder.query('BEGIN')
    await holder.query('SELECT 1 FROM refresh_tokens WHERE user_id = $1 FOR UPDATE', [session.id])
    const pending = Promise.all([refresh(session.refresh), refresh(session.refresh), refresh(session.refresh)])
    for (let i = 0; i < 100; i++) {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = \'Lock\'')
      if (rows[0].n >= 3) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await holder.query('COMMIT')
    const results = await pending
    const codes = results.map((r) => r.statusCode).sort()
    t.same(codes, [200, 401, 401])
    const family = await familyOf(session.refresh)
    t.equal(family.length, 2, 'exactly one child was issued')
    t.ok(family.every((r) => r.revoked), 'and the whole family is revoked')
    const winner = results.find((r) => r.statusCode === 200)?.json<{ refresh: string }>().refresh ?? ''
    t.equal((await refresh(winner)).statusCode, 401)
  })

  t.test('an expired or unknown refresh token is 401', async (t) => {
    const session = await registeredSession(app)
    await db.query('UPDATE refresh_tokens SET expires_at = now() - interval \'1 second\' WHERE user_id = $1', [session.id])
    t.equal((await refresh(session.refresh)).statusCode, 401)
    t.equal((await refresh('A'.repeat(43))).statusCode, 401)
    const empty = await refresh('')
    t.equal(empty.statusCode, 400)
    t.match(empty.json(), { details: [{ field: 'refresh' }] })
  })

  t.test('logout: 204, then the refresh token and its family are dead; idempotent', async (t) => {
    const session = await registeredSession(app)
    const rotated = (await refresh(session.refresh)).json<{ refresh: string }>().refresh
    const out = await app.inject({ method: 'POST', url: '/api/logout/', payload: { refresh: rotated } })
    t.equal(out.statusCode, 204)
    t.equal(out.body, '')
    t.same((await familyOf(rotated)).map((r) => r.revoked), [true, true])
    t.equal((await refresh(rotated)).statusCode, 401)
    t.equal((await app.inject({ method: 'POST', url: '/api/logout/', payload: { refresh: rotated } })).statusCode, 204, 'again')
    t.equal((await app.inject({ method: 'POST', url: '/api/logout/', payload: { refresh: 'unknown-token' } })).statusCode, 204, 'unknown')
    // another session of the same user is untouched
    const other = await login(app, session.user.username, session.user.password)
    t.equal((await refresh(other.body.refresh as string)).statusCode, 200)
  })
})
