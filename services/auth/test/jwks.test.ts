import { createPublicKey, createVerify, generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import pg from 'pg'
import { jwkThumbprint } from '../src/keys.js'
import { build, decodeJwt, registeredSession } from './helper.js'

interface Jwks { keys: Array<{ kty: string, crv: string, x: string, y: string, kid: string, alg: string, use: string }> }

function verifiesWith (token: string, jwk: Jwks['keys'][number]): boolean {
  const [h, p, s] = token.split('.')
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' })
  return createVerify('SHA256').update(`${h}.${p}`).verify({ key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s ?? '', 'base64url'))
}

t.test('JWKS serves the signing key and tokens verify against it; the generated key is kept', async (t) => {
  const first = await build(t)
  const res = await first.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  const jwks = res.json<Jwks>()
  t.equal(jwks.keys.length, 1)
  const jwk = jwks.keys[0]
  if (jwk === undefined) throw new Error('no key')
  t.same(Object.keys(jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'], 'the public half only')
  t.match(jwk, { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
  t.equal(jwk.kid, jwkThumbprint(jwk), 'kid is the RFC 7638 thumbprint')

  const session = await registeredSession(first.app)
  t.equal(decodeJwt(session.access).header.kid, jwk.kid)
  t.ok(verifiesWith(session.access, jwk), 'the access token verifies with the published key')
  const tampered = session.access.slice(0, -4) + (session.access.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  t.notOk(verifiesWith(tampered, jwk), 'and a changed signature does not')

  const db = new pg.Client({ connectionString: first.databaseUrl })
  await db.connect()
  t.after(async () => { await db.end() })
  const { rows } = await db.query('SELECT kid FROM signing_keys')
  t.same(rows, [{ kid: jwk.kid }], 'the development key is kept in the database')

  // a second instance (or a restart) on the same database uses the same key and accepts the first one's tokens
  const second = await build(t, { databaseUrl: first.databaseUrl })
  t.same((await second.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json(), jwks)
  t.equal((await second.app.inject({ method: 'GET', url: '/api/profile/', headers: { authorization: `Bearer ${session.access}` } })).statusCode, 200)
  t.same((await db.query('SELECT count(*)::int AS n FROM signing_keys')).rows[0], { n: 1 })
})

t.test('AUTH_PRIVATE_KEY is used when set (escaped newlines accepted), and nothing is stored', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const { app, databaseUrl } = await build(t, { env: { AUTH_PRIVATE_KEY: pem.replaceAll('\n', '\\n') } })
  const expected = createPublicKey(privateKey).export({ format: 'jwk' })
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<Jwks>()
  t.match(jwks.keys[0], { x: expected.x, y: expected.y, kid: jwkThumbprint({ crv: 'P-256', kty: 'EC', x: expected.x ?? '', y: expected.y ?? '' }) })
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.after(async () => { await db.end() })
  t.same((await db.query('SELECT count(*)::int AS n FROM signing_keys')).rows[0], { n: 0 })
})

t.test('the OpenAPI document: auth routes described, JWKS hidden, profile secured', async (t) => {
  const { app } = await build(t)
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { tags?: string[], summary?: string, security?: unknown, responses: Record<string, unknown> }>> }>()
  t.notOk(Object.keys(doc.paths).some((p) => p.includes('well-known')), 'no JWKS')
  for (const [path, method] of [['/api/register/', 'post'], ['/api/token/', 'post'], ['/api/token/refresh/', 'post'], ['/api/logout/', 'post'], ['/api/profile/', 'get'], ['/api/profile/', 'patch']] as const) {
    const op = doc.paths[path]?.[method]
    t.ok(op, `${method} ${path}`)
    t.same(op?.tags, ['auth'])
    t.type(op?.summary, 'string')
  }
  t.same(doc.paths['/api/profile/']?.get?.security, [{ bearerAuth: [] }])
  t.same(doc.paths['/api/profile/']?.patch?.security, [{ bearerAuth: [] }])
  t.same(Object.keys(doc.paths['/api/token/']?.post?.responses ?? {}).sort(), ['200', '400', '401', '415', '429'])
})
