import t from 'tap'
import pg from 'pg'
import { build, newUser } from './helper.js'

t.test('registration', async (t) => {
  const { app, databaseUrl } = await build(t)
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.after(async () => { await db.end() })

  t.test('201 with id, username and email; the row holds an argon2id hash, never the password', async (t) => {
    const body = newUser({ email: 'Mixed.Case@Example.COM', phone_number: '+1 555 0100', date_of_birth: '1999-12-31', preferred_game: 'PUBG' })
    const res = await app.inject({ method: 'POST', url: '/api/register/', payload: body })
    t.equal(res.statusCode, 201, res.body)
    const created = res.json<{ id: string, username: string, email: string }>()
    t.match(created.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    t.same(created, { id: created.id, username: body.username, email: 'mixed.case@example.com' })
    const { rows } = await db.query('SELECT username, email, password_hash, phone_number, to_char(date_of_birth, \'YYYY-MM-DD\') AS dob, preferred_game, is_staff FROM users WHERE id = $1', [created.id])
    t.equal(rows.length, 1)
    const row = rows[0]
    t.equal(row.username, body.username)
    t.equal(row.email, 'mixed.case@example.com')
    t.equal(row.phone_number, '+1 555 0100')
    t.equal(row.dob, '1999-12-31')
    t.equal(row.preferred_game, 'PUBG')
    t.equal(row.is_staff, false)
    t.match(row.password_hash, /^\$argon2id\$v=19\$/)
    const params = new Set((/^\$argon2id\$v=19\$([^$]+)\$/.exec(row.password_hash as string)?.[1] ?? '').split(','))
    t.same([...params].sort(), ['m=19456', 'p=1', 't=2'], 'OWASP parameters')
    t.notMatch(row.password_hash, body.password)
  })

  t.test('a taken username, in any case, is 409 naming username', async (t) => {
    const first = newUser()
    t.equal((await app.inject({ method: 'POST', url: '/api/register/', payload: first })).statusCode, 201)
    const res = await app.inject({ method: 'POST', url: '/api/register/', payload: newUser({ username: first.username.toUpperCase() }) })
    t.equal(res.statusCode, 409)
    t.match(res.json(), { statusCode: 409, error: 'Conflict', message: /username/, details: [{ field: 'username' }] })
    const { rows } = await db.query('SELECT count(*)::int AS n FROM users WHERE lower(username) = lower($1)', [first.username])
    t.equal(rows[0].n, 1)
  })

  t.test('a taken email, in any case, is 409 naming email', async (t) => {
    const first = newUser()
    t.equal((await app.inject({ method: 'POST', url: '/api/register/', payload: first })).statusCode, 201)
    const res = await app.inject({ method: 'POST', url: '/api/register/', payload: newUser({ email: first.email.toUpperCase() }) })
    t.equal(res.statusCode, 409)
    t.match(res.json(), { statusCode: 409, message: /email/, details: [{ field: 'email' }] })
    t.notMatch(res.json().message, /username/)
  })

  t.test('weak passwords are 400 naming password', async (t) => {
    const username = `weakling_${Date.now().toString(36)}`
    const cases: Array<[string, RegExp]> = [
      ['Sh0rt!', /10 characters/],
      ['alllowercaseletters', /two kinds/],
      ['12345678901234', /two kinds/],
      [`X1-${username}-yz`, /username/],
      ['Password123', /common/],
      [`Aa1-${'x'.repeat(130)}`, /128|more than/]
    ]
    for (const [password, why] of cases) {
      const res = await app.inject({ method: 'POST', url: '/api/register/', payload: newUser({ username, password }) })
      t.equal(res.statusCode, 400, password)
      const body = res.json<{ details: Array<{ field: string, message: string }> }>()
      t.equal(body.details[0]?.field, 'password', password)
      t.match(body.details[0]?.message, why, password)
    }
    const { rows } = await db.query('SELECT count(*)::int AS n FROM users WHERE username = $1', [username])
    t.equal(rows[0].n, 0, 'nothing was created')
  })

  t.test('a bad email is 400 naming email', async (t) => {
    for (const email of ['not-an-email', 'a@', '@example.com', 'two@@example.com']) {
      const res = await app.inject({ method: 'POST', url: '/api/register/', payload: newUser({ email }) })
      t.equal(res.statusCode, 400, email)
      t.match(res.json(), { statusCode: 400, error: 'Bad Request', details: [{ field: 'email' }] }, email)
    }
  })

  t.test('bad usernames and optional fields are 400 naming them', async (t) => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ username: 'ab' }, 'username'],
      [{ username: 'has space' }, 'username'],
      [{ username: 'x'.repeat(151) }, 'username'],
      [{ date_of_birth: '1999-02-30' }, 'date_of_birth'],
      [{ date_of_birth: '2999-01-01' }, 'date_of_birth'],
      [{ phone_number: 'call me' }, 'phone_number'],
      [{ is_staff: true }, 'is_staff'],
      [{ password: 12345678901 }, 'password']
    ]
    for (const [overrides, field] of cases) {
      const res = await app.inject({ method: 'POST', url: '/api/register/', payload: newUser(overrides) })
      t.equal(res.statusCode, 400, JSON.stringify(overrides))
      t.ok(res.json<{ details: Array<{ field: string }> }>().details.some((d) => d.field === field), `${field}: ${res.body}`)
    }
    const missing = await app.inject({ method: 'POST', url: '/api/register/', payload: { username: 'someone_new' } })
    t.equal(missing.statusCode, 400)
    t.same(missing.json<{ details: Array<{ field: string }> }>().details.map((d) => d.field).sort(), ['email', 'password'])
  })

  t.test('malformed JSON is 400, another content type 415', async (t) => {
    const bad = await app.inject({ method: 'POST', url: '/api/register/', headers: { 'content-type': 'application/json' }, payload: '{"username": "x",' })
    t.equal(bad.statusCode, 400)
    t.match(bad.json(), { statusCode: 400, error: 'Bad Request', message: String })
    t.notMatch(bad.body, /at .*\.js/, 'no stack trace')
    const form = await app.inject({ method: 'POST', url: '/api/register/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=x&password=y' })
    t.equal(form.statusCode, 415)
    t.match(form.json(), { statusCode: 415, error: 'Unsupported Media Type' })
  })

  t.test('the path without its trailing slash works too', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/register', payload: newUser() })
    t.equal(res.statusCode, 201)
  })
})
