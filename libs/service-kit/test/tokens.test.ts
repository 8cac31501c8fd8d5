import { randomBytes } from 'node:crypto'
import { createServer as createNetServer, type Socket } from 'node:net'
import t from 'tap'
import { createServer, tokens } from '../src/index.js'
import { startTestTokenIssuer, type Teardown } from '../src/testing.js'

async function build (t: Teardown, jwksBaseUrl: string) {
  const app = createServer({ service: 'test', logLevel: 'silent' })
  app.register(tokens, { issuer: 'topup-auth', audience: 'topup-platform', jwksBaseUrl })
  app.register(async (app) => {
    app.get('/api/me', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
  })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

const me = (token: string) => ({ method: 'GET' as const, url: '/api/me', headers: { authorization: `Bearer ${token}` } })

t.test('keys come from the JWKS and stay cached while auth is down', async (t) => {
  const issuer = await startTestTokenIssuer(t)
  const app = await build(t, issuer.jwksBaseUrl)
  const token = issuer.token({ sub: 'a1b2c3d4' })
  t.equal((await app.inject(me(token))).statusCode, 200)
  await issuer.close()
  t.equal((await app.inject(me(token))).statusCode, 200, 'a cached key still verifies')
})

t.test('auth unreachable: 503, not a misleading 401', async (t) => {
  const issuer = await startTestTokenIssuer(t)
  const token = issuer.token({ sub: 'a1b2c3d4' })
  const jwksBaseUrl = issuer.jwksBaseUrl
  await issuer.close()
  const app = await build(t, jwksBaseUrl)
  const res = await app.inject(me(token))
  t.equal(res.statusCode, 503)
  t.equal(res.json().message, 'The service is temporarily unavailable.')
})

t.test('auth accepting but never answering: 503 within a few seconds', async (t) => {
  const sockets = new Set<Socket>()
  const silent = createNetServer((socket) => { sockets.add(socket) })
  await new Promise<void>((resolve) => { silent.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { for (const s of sockets) s.destroy(); silent.close() })
  const { port } = silent.address() as { port: number }
  const issuer = await startTestTokenIssuer(t)
  const app = await build(t, `http://127.0.0.1:${port}`)
  const started = Date.now()
  const res = await app.inject(me(issuer.token({ sub: 'a1b2c3d4' })))
  t.equal(res.statusCode, 503)
  t.ok(Date.now() - started < 6000, `answered in ${Date.now() - started} ms`)
})

t.test('tokens with made-up key ids do not make the service hammer auth', async (t) => {
  const issuer = await startTestTokenIssuer(t)
  const app = await build(t, issuer.jwksBaseUrl)
  const good = issuer.token({ sub: 'a1b2c3d4' })
  t.equal((await app.inject(me(good))).statusCode, 200)
  const before = issuer.jwksRequests()
  for (let i = 0; i < 20; i++) {
    const res = await app.inject(me(issuer.token({ sub: 'a1b2c3d4' }, { kid: randomBytes(8).toString('hex') })))
    t.equal(res.statusCode, 401)
  }
  const sameUnknown = issuer.token({ sub: 'a1b2c3d4' }, { kid: 'not-a-key-of-auth' })
  for (let i = 0; i < 5; i++) t.equal((await app.inject(me(sameUnknown))).statusCode, 401)
  t.ok(issuer.jwksRequests() - before <= 2, `${issuer.jwksRequests() - before} JWKS fetches for 25 tokens with unknown key ids`)
  t.equal((await app.inject(me(good))).statusCode, 200, 'real tokens still pass')
})

t.test('a 401 says how to authenticate (WWW-Authenticate: Bearer), and why when a token was sent; a 403 names the missing right', async (t) => {
  const issuer = await startTestTokenIssuer(t)
  const app = createServer({ service: 'test', logLevel: 'silent' })
  app.register(tokens, { issuer: 'topup-auth', audience: 'topup-platform', jwksBaseUrl: issuer.jwksBaseUrl })
  app.register(async (app) => {
    app.get('/api/me', { onRequest: app.authenticate }, async () => ({ ok: true }))
    app.get('/api/staff', { onRequest: app.requireStaff }, async () => ({ ok: true }))
  })
  t.teardown(() => app.close())
  const none = await app.inject({ method: 'GET', url: '/api/me' })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer realm="topup"', 'no token: the scheme only (RFC 6750 §3.1)')
  const forged = await app.inject(me(`${issuer.token({ sub: 'a1b2c3d4' }).slice(0, -4)}AAAA`))
  t.equal(forged.statusCode, 401)
  t.equal(forged.headers['www-authenticate'], 'Bearer realm="topup", error="invalid_token", error_description="Invalid access token."')
  const expired = await app.inject(me(issuer.token({ sub: 'a1b2c3d4' }, { expiresInSeconds: -60 })))
  t.equal(expired.statusCode, 401)
  t.equal(expired.headers['www-authenticate'], 'Bearer realm="topup", error="invalid_token", error_description="Access token expired."', 'expired: a client knows to refresh')
  const player = await app.inject({ method: 'GET', url: '/api/staff', headers: { authorization: `Bearer ${issuer.token({ sub: 'a1b2c3d4' })}` } })
  t.equal(player.statusCode, 403)
  t.equal(player.headers['www-authenticate'], 'Bearer realm="topup", error="insufficient_scope", error_description="Staff access required."')
  t.equal(player.json().message, 'Staff access required.')
})
