/**
 * OWASP API2:2023 Broken Authentication. Every service verifies access tokens
 * itself (ES256 pinned, issuer, audience, expiry, typ): forged tokens of every
 * kind are refused through the gateway and straight to each service. Refresh
 * tokens rotate and a reused one revokes its family; logout revokes. Failed
 * logins are throttled per (account, address) pair, per address and per
 * account over all addresses (familiar addresses exempt from the last), so
 * a guesser cannot lock the owner out; passwords never reach a log line.
 */
import { generateKeyPairSync, createPublicKey, randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import type { Tokens } from '../system/harness.js'
import {
  authDb, decodeJwt, es256Jwt, hs256Jwt, httpFrom, nowSeconds, startCanary, startPlatform, unsignedJwt
} from './helpers.js'

const LIMITS = { LOGIN_MAX_PER_ACCOUNT: '3', LOGIN_MAX_PER_IP: '8', LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES: '6', LOGIN_WINDOW: '1 minute' }

t.test('API2 broken authentication', async (t) => {
  const { privateKey: authKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const platform = await startPlatform(t, {
    env: {
      all: { LOG_LEVEL: 'trace' },
      auth: { ...LIMITS, AUTH_PRIVATE_KEY: authKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
    }
  })
  const player = await platform.player('authn')
  const real = decodeJwt(player.access)
  const kid = String(real.header.kid)
  const jwks = await platform.http<{ keys: Array<Record<string, string>> }>('GET', '/.well-known/jwks.json', { baseUrl: platform.direct.auth })
  const publicJwk = jwks.body.keys.find((k) => k.kid === kid)
  if (publicJwk === undefined) throw new Error('the signing key is not in the JWKS')
  /** Credentials a careless client put in a URL (checked against the logs at the end). */
  const urlCredentials: string[] = []
  const publicPem = createPublicKey({ key: publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()

  await t.test('forged access tokens are refused by every service, through the gateway and straight', async (t) => {
    const canary = await startCanary(t)
    const { privateKey: attackerKey, publicKey: attackerPublic } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const now = nowSeconds()
    // what an attacker wants: the player's account, with staff rights, for a long time
    const claims = { ...real.payload, staff: true, exp: now + 3600 }
    const header = { alg: 'ES256', typ: 'JWT', kid }
    const [h, p, sig] = player.access.split('.') as [string, string, string]
    const withRealKey = (payload: Record<string, unknown>, hdr: Record<string, unknown> = header): string => es256Jwt(hdr, payload, authKey)
    const strip = (key: string): Record<string, unknown> => Object.fromEntries(Object.entries(claims).filter(([k]) => k !== key))

    const forged: Record<string, string> = {
      'alg none': unsignedJwt({ alg: 'none', typ: 'JWT', kid }, claims),
      'alg None': unsignedJwt({ alg: 'None', typ: 'JWT', kid }, claims),
      'alg NONE, signature kept': unsignedJwt({ alg: 'NONE', typ: 'JWT', kid }, claims, sig),
      'no alg': unsignedJwt({ typ: 'JWT', kid }, claims, sig),
      'HS256 signed with the public key (PEM)': hs256Jwt(header, claims, publicPem),
      'HS256 signed with the public key (JWK JSON)': hs256Jwt(header, claims, JSON.stringify(publicJwk)),
      'HS256 signed with the JWK x coordinate': hs256Jwt(header, claims, publicJwk.x ?? ''),
      'HS256 with an empty secret': hs256Jwt(header, claims, ''),
      'RS256 header over an ES256 signature': (() => { const tok = withRealKey(claims).split('.'); return `${Buffer.from(JSON.stringify({ ...header, alg: 'RS256' })).toString('base64url')}.${tok[1] ?? ''}.${tok[2] ?? ''}` })(),
      'ES384 header': (() => { const tok = withRealKey(claims).split('.'); return `${Buffer.from(JSON.stringify({ ...header, alg: 'ES384' })).toString('base64url')}.${tok[1] ?? ''}.${tok[2] ?? ''}` })(),
      'wrong key, the real kid': es256Jwt(header, claims, attackerKey),
      'wrong key, an unknown kid': es256Jwt({ ...header, kid: randomBytes(16).toString('base64url') }, claims, attackerKey),
      'wrong key, no kid': es256Jwt({ alg: 'ES256', typ: 'JWT' }, claims, attackerKey),
      'kid path traversal': es256Jwt({ ...header, kid: '../../../../../../dev/null' }, claims, attackerKey),
      'kid SQL injection': es256Jwt({ ...header, kid: "' OR '1'='1" }, claims, attackerKey),
      'kid as an object': es256Jwt({ ...header, kid: { $ne: null } }, claims, attackerKey),
      'embedded jwk header (attacker key)': es256Jwt({ alg: 'ES256', typ: 'JWT', jwk: attackerPublic.export({ format: 'jwk' }) }, claims, attackerKey),
      'jku header to another host': es256Jwt({ ...header, kid: 'canary-key', jku: `${canary.origin}/jwks.json` }, claims, attackerKey),
      'x5u header to another host': es256Jwt({ ...header, kid: 'canary-x5u', x5u: `${canary.origin}/cert.pem` }, claims, attackerKey),
      'tampered payload (staff: true), original signature': `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`,
      'tampered payload (another sub)': `${h}.${Buffer.from(JSON.stringify({ ...real.payload, sub: randomUUID() })).toString('base64url')}.${sig}`,
      'tampered signature': `${h}.${p}.${sig.slice(0, -6)}${sig.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`,
      'truncated signature': `${h}.${p}.${sig.slice(0, 20)}`,
      'signature removed': `${h}.${p}.`,
      'DER-encoded signature': (() => { const der = Buffer.concat([Buffer.from([0x30, 0x44, 0x02, 0x20]), Buffer.from(sig, 'base64url').subarray(0, 32), Buffer.from([0x02, 0x20]), Buffer.from(sig, 'base64url').subarray(32)]); return `${h}.${p}.${der.toString('base64url')}` })(),
      expired: withRealKey({ ...claims, iat: now - 7200, exp: now - 120 }),
      'not yet valid (nbf in an hour)': withRealKey({ ...claims, nbf: now + 3600 }),
      'wrong issuer': withRealKey({ ...claims, iss: 'evil-auth' }),
      'wrong audience': withRealKey({ ...claims, aud: 'another-platform' }),
      'audience list without ours': withRealKey({ ...claims, aud: ['another-platform', 'x'] }),
      'no exp': withRealKey(strip('exp')),
      'exp as a string': withRealKey({ ...claims, exp: String(now + 3600) }),
      'no iss': withRealKey(strip('iss')),
      'no aud': withRealKey(strip('aud')),
      'no sub': withRealKey(strip('sub')),
      'typ refresh': withRealKey({ ...claims, typ: 'refresh' }),
      'no typ': withRealKey(strip('typ')),
      'the refresh token as a bearer': player.refresh,
      'two parts': `${h}.${p}`,
      'four parts': `${h}.${p}.${sig}.${sig}`,
      'header not JSON': `${Buffer.from('{"alg":"ES256",').toString('base64url')}.${p}.${sig}`,
      'payload not JSON': `${h}.${Buffer.from('not json').toString('base64url')}.${sig}`,
      garbage: 'not.a.jwt',
      'random bytes': randomBytes(300).toString('base64url'),
      'an 8 KB token': `${h}.${'A'.repeat(8000)}.${sig}`,
      unicode: 'ünï.cödé.tøkén'
    }
    const controls = {
      'the real player token': player.access,
      'a staff token signed with the real key (the claim checks are what refuse the forgeries)': withRealKey(claims)
    }
    const targets = [
      { name: 'auth GET /api/profile/', path: '/api/profile/', direct: platform.direct.auth, okFor: 'player' },
      { name: 'orders GET /api/orders/', path: '/api/orders/', direct: platform.direct.orders, okFor: 'player' },
      { name: 'analytics GET /api/analytics/summary/', path: '/api/analytics/summary/', direct: platform.direct.analytics, okFor: 'staff' }
    ] as const
    for (const target of targets) {
      for (const [via, baseUrl] of [['gateway', platform.url], ['direct', target.direct]] as const) {
        const control = await platform.http('GET', target.path, { token: controls['the real player token'], baseUrl })
        t.equal(control.status, target.okFor === 'player' ? 200 : 403, `control: the real player token on ${target.name} (${via}) → ${control.status}`)
        const staffControl = await platform.http('GET', target.path, { token: controls['a staff token signed with the real key (the claim checks are what refuse the forgeries)'], baseUrl })
        t.equal(staffControl.status, 200, `control: a genuine staff token on ${target.name} (${via}) → 200`)
        for (const [kind, token] of Object.entries(forged)) {
          const res = await platform.http('GET', target.path, { token, baseUrl })
          t.equal(res.status, 401, `${kind} on ${target.name} (${via}) → 401`)
          t.match(res.body, { statusCode: 401, error: 'Unauthorized', message: String })
        }
      }
    }
    // other ways of presenting a credential
    const headerVariants: Record<string, string> = {
      'no Authorization header': '',
      'Bearer and nothing': 'Bearer',
      'Bearer and a space': 'Bearer ',
      'Basic scheme with the player\'s password': `Basic ${Buffer.from(`${player.username}:${player.password}`).toString('base64')}`,
      'Token scheme': `Token ${player.access}`,
      'two tokens': `Bearer ${player.access} ${player.access}`
    }
    for (const [kind, value] of Object.entries(headerVariants)) {
      for (const baseUrl of [platform.url, platform.direct.orders]) {
        const res = await platform.http('GET', '/api/orders/', { baseUrl, headers: value === '' ? {} : { authorization: value } })
        t.equal(res.status, 401, `${kind} → 401 (${baseUrl === platform.url ? 'gateway' : 'direct'})`)
      }
    }
    const careless = await platform.player('careless')
    const inQuery = await platform.http('GET', `/api/orders/?access_token=${careless.access}&token=${careless.access}`)
    t.equal(inQuery.status, 401, 'a token in the query string is not a credential')
    const passwordInQuery = await platform.http('POST', `/api/token/?username=${careless.username}&password=${encodeURIComponent(careless.password)}`, { body: { username: careless.username, password: careless.password } })
    t.equal(passwordInQuery.status, 200, 'a careless client that also puts its password in the URL still logs in')
    urlCredentials.push(careless.access.split('.')[2] ?? 'x', careless.password)
    const inCookie = await platform.http('GET', '/api/orders/', { headers: { cookie: `token=${player.access}; access=${player.access}` } })
    t.equal(inCookie.status, 401, 'nor in a cookie')
    t.equal(canary.connections(), 0, 'no service fetched a key from a URL in a token header (jku, x5u)')
  })

  await t.test('refresh tokens rotate, a reused one revokes its family, logout revokes', async (t) => {
    for (const [via, baseUrl] of [['gateway', platform.url], ['direct', platform.direct.auth]] as const) {
      const who = await platform.player(`refresh_${via}`)
      const first = await platform.http<Tokens>('POST', '/api/token/refresh/', { body: { refresh: who.refresh }, baseUrl })
      t.equal(first.status, 200, `rotation → 200 (${via})`)
      const second = await platform.http<Tokens>('POST', '/api/token/refresh/', { body: { refresh: first.body.refresh }, baseUrl })
      t.equal(second.status, 200, 'the new one rotates again')
      const reused = await platform.http('POST', '/api/token/refresh/', { body: { refresh: who.refresh }, baseUrl })
      t.equal(reused.status, 401, 'the first, reused → 401')
      const latest = await platform.http('POST', '/api/token/refresh/', { body: { refresh: second.body.refresh }, baseUrl })
      t.equal(latest.status, 401, 'and the latest of its family is revoked with it')
      const family = await authDb(platform).selectFrom('refresh_tokens').select('revoked_at').where('user_id', '=', who.id).execute()
      t.ok(family.length >= 3 && family.every((row) => row.revoked_at !== null), `every refresh token of the family is revoked in the database (${family.length})`)

      const other = await platform.http<Tokens>('POST', '/api/token/', { body: { username: who.username, password: who.password }, baseUrl })
      t.equal(other.status, 200, 'a fresh login still works (a new family)')
      t.equal((await platform.http('POST', '/api/logout/', { body: { refresh: other.body.refresh }, baseUrl })).status, 204, 'logout → 204')
      t.equal((await platform.http('POST', '/api/token/refresh/', { body: { refresh: other.body.refresh }, baseUrl })).status, 401, 'the logged-out refresh token → 401')
      t.equal((await platform.http('POST', '/api/logout/', { body: { refresh: other.body.refresh }, baseUrl })).status, 204, 'logging out again is harmless')
      for (const [kind, refresh] of Object.entries({ 'an access token': who.access, 'a made-up token': randomBytes(32).toString('base64url'), 'an empty string': '' })) {
        const res = await platform.http('POST', '/api/token/refresh/', { body: { refresh }, baseUrl })
        t.ok(res.status === 401 || res.status === 400, `${kind} as a refresh token → ${res.status}`)
        t.not(res.status, 200)
      }
    }
  })

  await t.test('login throttling: a guesser locks out only itself; the owner logs in from elsewhere', async (t) => {
    const victim = await platform.player('victim')
    const wrong = { username: victim.username, password: 'Wrong-Password-123' }
    const right = { username: victim.username, password: victim.password }

    // through the gateway the client address is the TCP peer: 127.0.0.2 guesses, 127.0.0.3 is the owner
    const attacker = '127.0.0.2'
    for (let i = 0; i < Number(LIMITS.LOGIN_MAX_PER_ACCOUNT); i++) {
      const res = await httpFrom(attacker, 'POST', `${platform.url}/api/token/`, { body: wrong })
      t.equal(res.status, 401, `guess ${i + 1} → 401`)
    }
    const locked = await httpFrom(attacker, 'POST', `${platform.url}/api/token/`, { body: wrong })
    t.equal(locked.status, 429, 'the next guess from that address → 429')
    t.match(String(locked.headers['retry-after']), /^[1-9]\d*$/, `with Retry-After (${String(locked.headers['retry-after'])} s)`)
    const lockedRight = await httpFrom(attacker, 'POST', `${platform.url}/api/token/`, { body: right })
    t.equal(lockedRight.status, 429, 'even the right password from the guessing address is refused (no oracle)')
    // rotating X-Forwarded-For does not give the guesser a new address at the gateway
    for (const forwarded of ['198.51.100.1', '198.51.100.2, 198.51.100.3', '10.0.0.1']) {
      const res = await httpFrom(attacker, 'POST', `${platform.url}/api/token/`, { body: wrong, headers: { 'x-forwarded-for': forwarded, 'x-real-ip': forwarded, forwarded: `for=${forwarded}` } })
      t.equal(res.status, 429, `a made-up X-Forwarded-For (${forwarded}) through the gateway changes nothing → 429`)
    }
    const owner = await httpFrom('127.0.0.3', 'POST', `${platform.url}/api/token/`, { body: right })
    t.equal(owner.status, 200, 'the owner from another address logs in (through the gateway)')
    // straight to auth, which believes X-Forwarded-For from loopback (the gateway)
    const ownerDirect = await platform.http('POST', '/api/token/', { body: right, baseUrl: platform.direct.auth, headers: { 'x-forwarded-for': '203.0.113.50' } })
    t.equal(ownerDirect.status, 200, 'and straight to auth from another forwarded address')
  })

  await t.test('login throttling: many addresses against one account are capped; the owner\'s familiar address still works', async (t) => {
    const victim = await platform.player('spread')
    const wrong = { username: victim.username, password: 'Wrong-Password-456' }
    const familiar = '203.0.113.77'
    const login = async (address: string, password: string): Promise<number> =>
      (await platform.http('POST', '/api/token/', { body: { username: victim.username, password }, baseUrl: platform.direct.auth, headers: { 'x-forwarded-for': address } })).status
    t.equal(await login(familiar, victim.password), 200, 'the owner logs in from their usual address first')
    const max = Number(LIMITS.LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES)
    const statuses: number[] = []
    for (let i = 0; i < max; i++) statuses.push(await login(`198.18.0.${i + 1}`, wrong.password))
    t.same(statuses, Array<number>(max).fill(401), `${max} guesses from ${max} addresses → 401 each`)
    t.equal(await login('198.18.1.1', wrong.password), 429, 'the next guess, from yet another address → 429')
    t.equal(await login('198.18.1.2', victim.password), 429, 'a fresh address is refused even with the right password')
    t.equal(await login(familiar, victim.password), 200, 'the owner at the familiar address still logs in')
  })

  await t.test('login throttling: one address spraying many accounts is capped', async (t) => {
    const max = Number(LIMITS.LOGIN_MAX_PER_IP)
    const address = '203.0.113.99'
    const statuses: number[] = []
    for (let i = 0; i <= max; i++) {
      const res = await platform.http('POST', '/api/token/', { body: { username: `nobody_${i}_${randomBytes(3).toString('hex')}`, password: 'Spray-Password-1' }, baseUrl: platform.direct.auth, headers: { 'x-forwarded-for': address } })
      statuses.push(res.status)
    }
    t.same(statuses.slice(0, max), Array<number>(max).fill(401), `${max} accounts tried → 401 each`)
    t.equal(statuses[max], 429, 'the next account from the same address → 429')
  })

  await t.test('unknown user and wrong password get the same answer', async (t) => {
    const known = await platform.player('enum')
    for (const baseUrl of [platform.url, platform.direct.auth]) {
      const headers = { 'x-forwarded-for': `203.0.113.${baseUrl === platform.url ? 10 : 11}` }
      const badPassword = await platform.http('POST', '/api/token/', { body: { username: known.username, password: 'Not-The-Password-9' }, baseUrl, headers })
      const noUser = await platform.http('POST', '/api/token/', { body: { username: `ghost_${randomBytes(4).toString('hex')}`, password: 'Not-The-Password-9' }, baseUrl, headers })
      t.equal(badPassword.status, 401)
      t.equal(noUser.status, 401)
      t.same(badPassword.body, noUser.body, 'identical bodies')
    }
  })

  await t.test('passwords never reach a log line (every service at trace level)', (t) => {
    const all = platform.allLogs()
    t.ok(all.length > 10_000, `${all.length} characters of logs captured`)
    const secrets = ['Wrong-Password-123', 'Wrong-Password-456', 'Spray-Password-1', 'Not-The-Password-9', player.password]
    for (const secret of secrets) t.notOk(all.includes(secret), `not logged: ${secret.slice(0, 5)}…`)
    t.notOk(all.includes(player.refresh), 'nor a refresh token')
    t.notOk(all.includes(player.access.split('.')[2] ?? 'x'), 'nor an access token\'s signature')
    t.end()
  })

  await t.test('credentials a careless client put in the URL are not logged either', (t) => {
    const lines = platform.allLogs().split('\n')
    t.equal(urlCredentials.length, 2)
    for (const secret of urlCredentials) {
      const leaked = lines.filter((l) => l.includes(secret) || l.includes(encodeURIComponent(secret))).map((l) => `${(JSON.parse(l) as { service?: string }).service ?? '?'}: ${l.slice(0, 160)}…`)
      t.same(leaked, [], `${secret.length > 40 ? 'a token signature' : 'a password'} from a query string is not in any log line`)
    }
    t.end()
  })
})
