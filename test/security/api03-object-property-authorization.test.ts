/**
 * OWASP API3:2023 Broken Object Property Level Authorization. No request can
 * set a property the client does not own (mass assignment: staff rights, ids,
 * an order's status or amount): every body is closed, and an unknown field is
 * a 400 that names it, with nothing written. No response carries a property
 * the caller may not see (password hashes, other users' e-mails).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { demoTopup, type HttpResult, type Tokens } from '../system/harness.js'
import { authDb, STAFF, startPlatform } from './helpers.js'

interface ErrorBody { statusCode: number, message: string, details?: Array<{ field: string, message: string }> }

t.test('API3 broken object property level authorization', async (t) => {
  const platform = await startPlatform(t)
  const bases = { gateway: platform.url, direct: '' }
  /** Every response a player got in this file: checked for what it must never carry. */
  const seen: Array<{ what: string, res: HttpResult<unknown> }> = []
  const record = <B>(what: string, res: HttpResult<B>): HttpResult<B> => { seen.push({ what, res }); return res }

  function namesField (t: Test, res: HttpResult<ErrorBody>, field: string, what: string): void {
    t.equal(res.status, 400, `${what} → 400`)
    t.ok((res.body.details ?? []).some((d) => d.field === field), `${what}: details name "${field}" (${JSON.stringify(res.body.details?.map((d) => d.field))})`)
  }

  await t.test('registration takes no staff flag, id or other stored property', async (t) => {
    const extras: Record<string, unknown> = {
      staff: true,
      is_staff: true,
      isStaff: true,
      role: 'admin',
      is_superuser: true,
      id: randomUUID(),
      password_hash: '$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB',
      created_at: '2000-01-01T00:00:00Z',
      email_verified: true
    }
    for (const [via, base] of Object.entries(bases)) {
      const baseUrl = base === '' ? platform.direct.auth : base
      for (const [field, value] of Object.entries(extras)) {
        const username = `mass_${randomBytes(4).toString('hex')}`
        const body = { username, email: `${username}@players.test`, password: 'Sturdy-Passw0rd-9', [field]: value }
        const res = record(`register + ${field}`, await platform.http<ErrorBody>('POST', '/api/register/', { body, baseUrl }))
        namesField(t, res, field, `register with ${field} (${via})`)
        const row = await authDb(platform).selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()
        t.equal(row, undefined, 'no user was created')
      }
      // prototype tricks are refused by the JSON parser itself
      for (const raw of ['{"__proto__":{"is_staff":true},"username":"proto_x","email":"proto_x@players.test","password":"Sturdy-Passw0rd-9"}',
        '{"constructor":{"prototype":{"is_staff":true}},"username":"ctor_x","email":"ctor_x@players.test","password":"Sturdy-Passw0rd-9"}']) {
        const res = await platform.http<ErrorBody>('POST', '/api/register/', { body: raw, baseUrl })
        t.equal(res.status, 400, `${raw.slice(2, 13)}… → 400 (${via})`)
      }
      t.equal(({} as Record<string, unknown>).is_staff, undefined, 'and no prototype was polluted')
    }
    const staffRows = await authDb(platform).selectFrom('users').select('username').where('is_staff', '=', true).execute()
    t.same(staffRows.map((r) => r.username), [STAFF.STAFF_USERNAME], 'the only staff user is the bootstrapped one')
  })

  await t.test('the profile cannot change staff rights, username, id or password', async (t) => {
    const player = await platform.player('prof')
    const before = await platform.http('GET', '/api/profile/', { token: player.access })
    const extras: Record<string, unknown> = { staff: true, is_staff: true, username: 'someone_else', id: randomUUID(), user_id: randomUUID(), password: 'New-Passw0rd-123', password_hash: 'x', role: 'admin' }
    for (const [via, base] of Object.entries(bases)) {
      const baseUrl = base === '' ? platform.direct.auth : base
      for (const [field, value] of Object.entries(extras)) {
        const res = record(`profile + ${field}`, await platform.http<ErrorBody>('PATCH', '/api/profile/', { token: player.access, body: { preferred_game: 'Free Fire', [field]: value }, baseUrl }))
        namesField(t, res, field, `PATCH /api/profile/ with ${field} (${via})`)
      }
    }
    const after = record('profile', await platform.http('GET', '/api/profile/', { token: player.access }))
    t.same(after.body, before.body, 'the profile is unchanged (not even the allowed field of a refused request)')
    const row = await authDb(platform).selectFrom('users').select(['username', 'is_staff']).where('id', '=', player.id).executeTakeFirstOrThrow()
    t.same(row, { username: player.username, is_staff: false }, 'still the same non-staff user in the database')
    const relogin = await platform.http<Tokens>('POST', '/api/token/', { body: { username: player.username, password: player.password } })
    t.equal(relogin.status, 200, 'the password did not change')
    const claims = JSON.parse(Buffer.from(relogin.body.access.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
    t.equal(claims.staff, false, 'a new token carries no staff right')
  })

  await t.test('an order takes no status, owner, amount or ids from the client', async (t) => {
    const player = await platform.player('order')
    const other = await platform.player('owner')
    const extras: Record<string, unknown> = {
      status: 'success', user_id: other.id, user_email: other.email, amount: '0.01', price: '0.01', currency: 'USD',
      order_id: randomUUID(), transaction_id: randomUUID(), created_at: '2020-01-01T00:00:00Z', staff: true, in_game_currency: 999999
    }
    for (const [via, base] of Object.entries(bases)) {
      const baseUrl = base === '' ? platform.direct.orders : base
      for (const [field, value] of Object.entries(extras)) {
        const res = record(`topup + ${field}`, await platform.http<ErrorBody>('POST', '/api/topup/', { token: player.access, body: { ...demoTopup, [field]: value }, baseUrl }))
        namesField(t, res, field, `POST /api/topup/ with ${field} (${via})`)
      }
    }
    const orders = await platform.orders[0]?.db.selectFrom('orders').select('id').where('user_id', 'in', [player.id, other.id]).execute()
    t.same(orders, [], 'no order was created, for either player')
    const control = record('topup', await platform.topup(player.access))
    t.equal(control.status, 201, 'control: the same request without the extra field → 201')
    const row = await platform.orders[0]?.db.selectFrom('orders').select(['user_id', 'status', 'amount', 'currency']).where('id', '=', control.body.order_id).executeTakeFirstOrThrow()
    t.same(row, { user_id: player.id, status: 'pending', amount: '699.00', currency: 'INR' }, 'owner, status and amount come from the token and the catalog')
  })

  await t.test('catalog writes (staff) take no id either', async (t) => {
    for (const baseUrl of [platform.url, platform.direct.orders]) {
      const game = await platform.http<ErrorBody>('POST', '/api/games/', { token: platform.staffToken, baseUrl, body: { name: `Game ${randomBytes(3).toString('hex')}`, game_id: `g${randomBytes(3).toString('hex')}`, id: 1 } })
      namesField(t, game, 'id', 'POST /api/games/ with id')
      const product = await platform.http<ErrorBody>('POST', '/api/products/', { token: platform.staffToken, baseUrl, body: { game: 1, name: 'Free Gems', price: '0.01', in_game_currency: 10, id: 4 } })
      namesField(t, product, 'id', 'POST /api/products/ with id')
      const patch = await platform.http<ErrorBody>('PATCH', '/api/products/4', { token: platform.staffToken, baseUrl, body: { id: 1 } })
      namesField(t, patch, 'id', 'PATCH /api/products/4 with id')
      const patchGame = await platform.http<ErrorBody>('PATCH', '/api/games/1', { token: platform.staffToken, baseUrl, body: { products: [] } })
      namesField(t, patchGame, 'products', 'PATCH /api/games/1 with products')
    }
    const product = await platform.orders[0]?.db.selectFrom('products').select(['id', 'price']).where('id', '=', 4).executeTakeFirstOrThrow()
    t.same(product, { id: 4, price: '699.00' }, 'product 4 is unchanged')
  })

  await t.test('no response carries a password hash or another user\'s e-mail', async (t) => {
    const alice = await platform.player('alice')
    const bob = await platform.player('bob')
    const aliceOrder = await platform.topup(alice.access)
    record('alice topup', aliceOrder)
    record('alice orders', await platform.http('GET', '/api/orders/', { token: alice.access }))
    record('alice order', await platform.http('GET', `/api/orders/${aliceOrder.body.order_id}`, { token: alice.access }))
    record('alice profile', await platform.http('GET', '/api/profile/', { token: alice.access }))
    const profile = await platform.http<Record<string, unknown>>('GET', '/api/profile/', { token: alice.access })
    t.same(Object.keys(profile.body).sort(), ['date_of_birth', 'email', 'phone_number', 'preferred_game', 'username'], 'the profile has exactly its five public fields')
    record('games', await platform.http('GET', '/api/games/'))
    // bob tries to take alice's e-mail and username: told they are taken, nothing more
    const takenEmail = record('bob takes alice\'s email', await platform.http('PATCH', '/api/profile/', { token: bob.access, body: { email: alice.email.toUpperCase() } }))
    t.equal(takenEmail.status, 409, 'alice\'s e-mail (any case) → 409')
    const registerTaken = record('register taken', await platform.http('POST', '/api/register/', { body: { username: alice.username, email: `x${alice.email}`, password: 'Sturdy-Passw0rd-9' } }))
    t.equal(registerTaken.status, 409, 'alice\'s username → 409')
    record('bob orders', await platform.http('GET', '/api/orders/', { token: bob.access }))
    record('bob on alice\'s order', await platform.http('GET', `/api/orders/${aliceOrder.body.order_id}`, { token: bob.access }))
    record('bob login', await platform.http('POST', '/api/token/', { body: { username: bob.username, password: bob.password } }))
    record('bob refresh', await platform.http('POST', '/api/token/refresh/', { body: { refresh: bob.refresh } }))

    t.ok(seen.length > 60, `${seen.length} responses checked`)
    for (const { what, res } of seen) {
      const text = res.text
      if (/\$argon2(id|i|d)\$|"password_hash"\s*:|\$2[aby]\$/.test(text)) t.fail(`${what}: a password hash in the response`)
      if (/"password"\s*:/.test(text)) t.fail(`${what}: a password field in the response`)
      // the access token a login returns carries the user's own claims only
      for (const token of text.match(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/g) ?? []) {
        const claims = Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')
        if (/hash|password/i.test(claims)) t.fail(`${what}: a token carries ${claims}`)
      }
    }
    for (const { what, res } of seen.filter((s) => s.what.startsWith('bob') || s.what.startsWith('register'))) {
      t.notMatch(res.text, alice.email, `${what}: no trace of alice's e-mail`)
      t.notMatch(res.text, alice.id, `${what}: nor of her id`)
    }
  })
})
