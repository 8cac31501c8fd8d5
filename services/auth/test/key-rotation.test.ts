import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { createServer, tokens, type App } from '@topup/service-kit'
import { waitFor } from '@topup/service-kit/testing'
import type { Database } from '../src/db/schema.js'
import { addSigningKey, removeSigningKey } from '../src/db/signing-keys.js'
import { signingKeyFromPem } from '../src/keys.js'
import { build, decodeJwt, login, registeredSession, type Tap } from './helper.js'

const TOKEN_LIFETIME_MS = 16 * 60_000
const FAST = { SIGNING_KEYS_RELOAD: '100ms' }

function database (t: Tap, url: string): Kysely<Database> {
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }) })
  t.after(async () => { await db.destroy() })
  return db
}

const kids = async (app: App): Promise<string[]> =>
  (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{ keys: Array<{ kid: string }> }>().keys.map((k) => k.kid).sort()

const profile = async (app: App, token: string): Promise<number> =>
  (await app.inject({ method: 'GET', url: '/api/profile/', headers: { authorization: `Bearer ${token}` } })).statusCode

/** Another service's verifier (service-kit's tokens plugin against auth's JWKS), keeping keys `keyTtlMs`. */
async function verifier (t: Tap, jwksBaseUrl: string, keyTtlMs?: number): Promise<(token: string) => Promise<number>> {
  const app = createServer({ service: 'orders-like', logLevel: 'silent' })
  await app.register(tokens, { issuer: 'topup-auth', audience: 'topup-platform', jwksBaseUrl, ...(keyTtlMs === undefined ? {} : { keyTtlMs }) })
  app.get('/api/me', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
  t.after(async () => { await app.close() })
  await app.ready()
  return async (token) => (await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode
}

async function listen (app: App): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening')
  return `http://127.0.0.1:${address.port}`
}

t.test('a rotation across two instances: both keys valid, new tokens on the new key, the old one removed everywhere', async (t) => {
  const a = await build(t, { env: FAST })
  const b = await build(t, { env: FAST, databaseUrl: a.databaseUrl })
  const db = database(t, a.databaseUrl)
  const verify = await verifier(t, await listen(a.app), 300)

  const before = await registeredSession(a.app)
  const oldKid = decodeJwt(before.access).header.kid as string
  t.same(await kids(b.app), [oldKid], 'one key before the rotation')
  t.equal(await verify(before.access), 200, 'the other service accepts the old key\'s token (and keeps it cached)')

  const { kid: newKid } = await addSigningKey(db, { signingInMs: 0 })
  t.not(newKid, oldKid)
  await waitFor('both instances to list the new key', async () => (await kids(a.app)).length === 2 && (await kids(b.app)).length === 2, 5000)
  t.same(await kids(b.app), [oldKid, newKid].sort(), 'the second instance lists both keys, without a restart')

  const after = await registeredSession(b.app)
  t.equal(decodeJwt(after.access).header.kid, newKid, 'new tokens carry the new kid')
  const fromA = await login(a.app, before.user.username, before.user.password)
  t.equal(decodeJwt(fromA.body.access as string).header.kid, newKid, 'on the other instance too')
  for (const [name, app] of [['a', a.app], ['b', b.app]] as const) {
    t.equal(await profile(app, before.access), 200, `instance ${name} accepts the old key's token`)
    t.equal(await profile(app, after.access), 200, `instance ${name} accepts the new key's token`)
  }
  t.equal(await verify(before.access), 200, 'the other service still accepts the old key\'s token')
  t.equal(await verify(after.access), 200, 'and finds the new kid without a restart (get-jwks fetches the JWKS again)')

  t.match(await removeSigningKey(db, newKid, { force: true, tokenLifetimeMs: TOKEN_LIFETIME_MS }), { ok: false, reason: 'signing' }, 'the signing key cannot be removed')
  const early = await removeSigningKey(db, oldKid, { force: false, tokenLifetimeMs: TOKEN_LIFETIME_MS })
  t.match(early, { ok: false, reason: 'still-valid' }, 'the old key is kept while its tokens may be valid')
  t.ok(early.ok === false && early.validUntil !== undefined && early.validUntil.getTime() > Date.now() + 15 * 60_000, 'until the token lifetime has passed')
  t.match(await removeSigningKey(db, oldKid, { force: true, tokenLifetimeMs: TOKEN_LIFETIME_MS }), { ok: true, source: 'database' })
  t.same((await db.selectFrom('signing_keys').select(['kid', 'private_key_pem']).where('kid', '=', oldKid).execute()), [{ kid: oldKid, private_key_pem: null }], 'the removed private key is wiped')

  await waitFor('both instances to drop the old key', async () => (await kids(a.app)).length === 1 && (await kids(b.app)).length === 1, 5000)
  t.same(await kids(a.app), [newKid])
  for (const [name, app] of [['a', a.app], ['b', b.app]] as const) {
    t.equal(await profile(app, before.access), 401, `instance ${name} refuses the removed key's token`)
    t.equal(await profile(app, after.access), 200, `instance ${name} still accepts the new key's`)
  }
  const removedAt = Date.now()
  // the old token was verified (and cached by fast-jwt) a moment ago: the key lookup comes first
  await waitFor('the other service to refuse the removed key', async () => await verify(before.access) === 401, 5000)
  t.ok(Date.now() - removedAt < 2000, `refused ${Date.now() - removedAt} ms after auth dropped it (key TTL 300 ms)`)
  t.equal(await verify(after.access), 200, 'the new key\'s token is still accepted there')

  const refreshed = await a.app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: before.refresh } })
  t.equal(refreshed.statusCode, 200, 'the holder of a removed key\'s token is not logged out: the refresh token still works')
  const access = refreshed.json<{ access: string }>().access
  t.equal(decodeJwt(access).header.kid, newKid)
  t.equal(await verify(access), 200)
})

t.test('a new key is listed at once but signs only from signing_from', async (t) => {
  const a = await build(t, { env: FAST })
  const db = database(t, a.databaseUrl)
  const first = await registeredSession(a.app)
  const oldKid = decodeJwt(first.access).header.kid as string
  const { kid: pendingKid, signingFrom } = await addSigningKey(db, { signingInMs: 60_000 })
  t.ok(signingFrom.getTime() > Date.now() + 50_000, 'signs a minute later')
  await waitFor('the pending key to be listed', async () => (await kids(a.app)).includes(pendingKid), 5000)
  const second = await registeredSession(a.app)
  t.equal(decodeJwt(second.access).header.kid, oldKid, 'tokens are still signed with the old key meanwhile')
  t.match(await removeSigningKey(db, pendingKid, { force: false, tokenLifetimeMs: TOKEN_LIFETIME_MS }), { ok: true }, 'a pending key (no tokens yet) may be withdrawn')
  await waitFor('the withdrawn key to go', async () => !(await kids(a.app)).includes(pendingKid), 5000)
  t.match(await removeSigningKey(db, 'no-such-kid', { force: true, tokenLifetimeMs: TOKEN_LIFETIME_MS }), { ok: false, reason: 'unknown' })
})

t.test('a token with a key another instance just added is accepted before the periodic reload (reload on a miss)', async (t) => {
  const a = await build(t, { env: { SIGNING_KEYS_RELOAD: '100ms' } })
  const b = await build(t, { env: { SIGNING_KEYS_RELOAD: '1 hour' }, databaseUrl: a.databaseUrl })
  const db = database(t, a.databaseUrl)
  const { kid } = await addSigningKey(db, { signingInMs: 0 })
  await waitFor('instance a to sign with the new key', async () => decodeJwt((await registeredSession(a.app)).access).header.kid === kid, 5000)
  const session = await registeredSession(a.app)
  t.notOk((await kids(b.app)).includes(kid), 'instance b has not reloaded yet')
  t.equal(await profile(b.app, session.access), 200, 'b looks the unknown kid up in the database and accepts the token')
  t.ok((await kids(b.app)).includes(kid), 'and lists the key from then on')
})

t.test('AUTH_PRIVATE_KEY is the oldest key of the set: a rotated key takes over, and removing it marks it in the database', async (t) => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const envKey = signingKeyFromPem(pem)
  const a = await build(t, { env: { ...FAST, AUTH_PRIVATE_KEY: pem } })
  const db = database(t, a.databaseUrl)
  const before = await registeredSession(a.app)
  t.equal(decodeJwt(before.access).header.kid, envKey.kid)
  const { kid } = await addSigningKey(db, { signingInMs: 0 })
  await waitFor('the stored key to sign', async () => decodeJwt((await registeredSession(a.app)).access).header.kid === kid, 5000)
  t.same(await kids(a.app), [envKey.kid, kid].sort(), 'both listed')
  t.equal(await profile(a.app, before.access), 200)
  t.match(await removeSigningKey(db, envKey.kid, { force: true, tokenLifetimeMs: TOKEN_LIFETIME_MS }), { ok: false, reason: 'unknown' }, 'the environment key is only known where AUTH_PRIVATE_KEY is set')
  t.match(await removeSigningKey(db, envKey.kid, { envKey, force: true, tokenLifetimeMs: TOKEN_LIFETIME_MS }), { ok: true, source: 'AUTH_PRIVATE_KEY' })
  t.same(await db.selectFrom('signing_keys').select(['kid', 'private_key_pem', 'public_key_pem']).where('kid', '=', envKey.kid).execute(),
    [{ kid: envKey.kid, private_key_pem: null, public_key_pem: null }], 'a mark without key material')
  await waitFor('the environment key to go', async () => !(await kids(a.app)).includes(envKey.kid), 5000)
  t.equal(await profile(a.app, before.access), 401, 'its tokens are refused')

  // a restart with the same AUTH_PRIVATE_KEY does not bring it back
  const restarted = await build(t, { env: { ...FAST, AUTH_PRIVATE_KEY: pem }, databaseUrl: a.databaseUrl })
  t.same(await kids(restarted.app), [kid])
  t.equal(await profile(restarted.app, before.access), 401)
})

const HERE = dirname(fileURLToPath(import.meta.url))
// the compiled CLI (npm run rotate-key runs it after a build; tests run after one too)
const CLI = join(HERE, '..', 'dist', 'src', 'cli', 'rotate-key.js')
const run = promisify(execFile)

async function cli (databaseUrl: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number, stdout?: string, stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

t.test('npm run rotate-key: add, list, refuse what is unsafe, remove', async (t) => {
  const a = await build(t, { env: FAST })
  const oldKid = (await kids(a.app))[0] ?? ''
  const added = await cli(a.databaseUrl, ['--signing-in', '0'])
  t.equal(added.code, 0, added.stderr)
  const newKid = /^added key (\S+):/.exec(added.stdout)?.[1] ?? ''
  t.match(added.stdout, new RegExp(`then remove ${oldKid} after .*npm run rotate-key -- --remove ${oldKid}`))
  await waitFor('the running instance to list the key', async () => (await kids(a.app)).includes(newKid), 5000)

  const list = await cli(a.databaseUrl, ['--list'])
  t.equal(list.code, 0)
  t.match(list.stdout, new RegExp(`${oldKid} {2}listed: not signing since .*removable then`))
  t.match(list.stdout, new RegExp(`${newKid} {2}signing`))

  const refused = await cli(a.databaseUrl, ['--remove', oldKid])
  t.equal(refused.code, 1, 'too early: exit 1')
  t.match(refused.stderr, /may be valid until .* or now with --force/)
  const signing = await cli(a.databaseUrl, ['--remove', newKid, '--force'])
  t.equal(signing.code, 1)
  t.match(signing.stderr, /signs new tokens: add a key first/)
  t.equal((await cli(a.databaseUrl, ['--remove'])).code, 1, 'usage error')
  t.equal((await cli(a.databaseUrl, ['--list', '--remove', oldKid])).code, 1, 'one thing at a time')

  const removed = await cli(a.databaseUrl, ['--remove', oldKid, '--force'])
  t.equal(removed.code, 0, removed.stderr)
  t.match(removed.stdout, `removed key ${oldKid}`)
  await waitFor('the running instance to drop the key', async () => !(await kids(a.app)).includes(oldKid), 5000)
  t.match((await cli(a.databaseUrl, ['--list'])).stdout, new RegExp(`${oldKid} {2}removed at`))
})
