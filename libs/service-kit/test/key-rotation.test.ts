import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer as createHttpServer } from 'node:http'
import t from 'tap'
import { createSigner } from 'fast-jwt'
import { createServer, tokens } from '../src/index.js'
import { waitFor, type Teardown } from '../src/testing.js'

/** A JWKS whose keys a test adds and removes, like auth's during a rotation. */
async function rotatingIssuer (t: Teardown) {
  const keys = new Map<string, { pem: string, jwk: Record<string, unknown> }>()
  let requests = 0
  let down = false
  const server = createHttpServer((req, res) => {
    requests++
    if (down) { res.writeHead(500).end('{}'); return }
    if (req.url !== '/.well-known/jwks.json') { res.writeHead(404).end(); return }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [...keys.values()].map((k) => k.jwk) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise<void>((resolve) => server.close(() => { resolve() })) })
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    add (): string {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const kid = randomBytes(8).toString('hex')
      keys.set(kid, { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), jwk: { ...createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } })
      return kid
    },
    remove (kid: string): void { keys.delete(kid) },
    setDown (value: boolean): void { down = value },
    token (kid: string): string {
      const key = keys.get(kid)
      if (key === undefined) throw new Error(`no key ${kid}`)
      const sign = createSigner({ key: key.pem, algorithm: 'ES256', kid, iss: 'topup-auth', aud: 'topup-platform', expiresIn: 900_000 })
      return sign({ sub: `user-${kid}`, username: 'u', email: 'u@example.com', staff: false, typ: 'access' })
    },
    requests: () => requests
  }
}

async function verifier (t: Teardown, jwksBaseUrl: string, keyTtlMs?: number) {
  const app = createServer({ service: 'test', logLevel: 'silent' })
  app.register(tokens, { issuer: 'topup-auth', audience: 'topup-platform', jwksBaseUrl, ...(keyTtlMs === undefined ? {} : { keyTtlMs }) })
  app.register(async (app) => {
    app.get('/api/me', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
  })
  t.teardown(() => app.close())
  await app.ready()
  return async (token: string): Promise<number> => (await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode
}

t.test('a new kid is fetched on its first token, without a restart, right after another key was looked up', async (t) => {
  const issuer = await rotatingIssuer(t)
  const oldKid = issuer.add()
  const verify = await verifier(t, issuer.url)
  t.equal(await verify(issuer.token(oldKid)), 200)
  const fetched = issuer.requests()
  const newKid = issuer.add()
  t.equal(await verify(issuer.token(newKid)), 200, 'the new key\'s token is accepted at once')
  t.equal(issuer.requests(), fetched + 1, 'by fetching the JWKS once more')
  t.equal(await verify(issuer.token(oldKid)), 200, 'and the old key\'s still is')
  t.equal(await verify(issuer.token(newKid)), 200)
  t.equal(issuer.requests(), fetched + 1, 'both kept (no fetch per request)')
})

t.test('a removed kid is refused once its key has been kept keyTtlMs, even a token verified just before', async (t) => {
  const issuer = await rotatingIssuer(t)
  const oldKid = issuer.add()
  const newKid = issuer.add()
  const verify = await verifier(t, issuer.url, 300)
  const oldToken = issuer.token(oldKid)
  const newToken = issuer.token(newKid)
  t.equal(await verify(oldToken), 200)
  t.equal(await verify(newToken), 200)
  issuer.remove(oldKid)
  const removedAt = Date.now()
  t.equal(await verify(oldToken), 200, 'still kept right after the removal (the documented bound)')
  await waitFor('the removed key to be refused', async () => await verify(oldToken) === 401, 5000)
  const took = Date.now() - removedAt
  t.ok(took >= 250 && took < 1500, `refused ${took} ms after the removal (key TTL 300 ms)`)
  t.equal(await verify(oldToken), 401, 'and stays refused (get-jwks\'s stale copy does not bring it back)')
  t.equal(await verify(newToken), 200, 'the remaining key still verifies')
})

t.test('the default: keys are refreshed every minute (the bound of a removal)', async (t) => {
  const { KEY_TTL_MS } = await import('../src/auth.js')
  t.equal(KEY_TTL_MS, 60_000)
})

t.test('auth failing after the key TTL: the last keys keep serving (no 503 storm), a removal needs auth to answer', async (t) => {
  const issuer = await rotatingIssuer(t)
  const kid = issuer.add()
  const verify = await verifier(t, issuer.url, 100)
  const token = issuer.token(kid)
  t.equal(await verify(token), 200)
  issuer.setDown(true)
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.equal(await verify(token), 200, 'auth answers 500: the key fetched before is used')
  const before = issuer.requests()
  for (let i = 0; i < 10; i++) t.equal(await verify(token), 200)
  t.ok(issuer.requests() - before <= 1, `${issuer.requests() - before} fetches for 10 requests while auth fails (at most one a second)`)
  issuer.setDown(false)
})
