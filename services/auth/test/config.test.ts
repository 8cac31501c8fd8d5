import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { ConfigError } from '@topup/service-kit'
import { loadAuthConfig, loginWindowMs, registerWindowMs } from '../src/config.js'

const p256 = (): string => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

t.test('development defaults', async (t) => {
  const config = loadAuthConfig({})
  t.match(config, {
    NODE_ENV: 'development', PORT: 3001, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/topup_auth', REFRESH_TTL_DAYS: 7,
    LOGIN_MAX_PER_IP: 20, LOGIN_MAX_PER_ACCOUNT: 5, LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES: 100, LOGIN_WINDOW: '1 minute',
    REGISTER_MAX_PER_IP: 20, REGISTER_WINDOW: '10 minutes', JWT_ISSUER: 'topup-auth', JWT_AUDIENCE: 'topup-platform'
  })
  t.equal(config.AUTH_PRIVATE_KEY, undefined)
  t.equal(loginWindowMs(config), 60_000)
  t.equal(loginWindowMs({ LOGIN_WINDOW: '30s' }), 30_000)
  t.equal(registerWindowMs(config), 600_000)
  t.equal(registerWindowMs({ REGISTER_WINDOW: '1 hour' }), 3_600_000)
})

t.test('the registration limit: 0 turns it off, a negative count or an unreadable window is refused', async (t) => {
  t.equal(loadAuthConfig({ REGISTER_MAX_PER_IP: '0' }).REGISTER_MAX_PER_IP, 0)
  const err = t.throws(() => loadAuthConfig({ REGISTER_MAX_PER_IP: '-1', LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES: '0' })) as ConfigError
  t.same(err.problems.map((p) => p.split(':')[0]).sort(), ['LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES', 'REGISTER_MAX_PER_IP'], err.message)
  const window = t.throws(() => loadAuthConfig({ REGISTER_WINDOW: 'a while' })) as ConfigError
  t.same(window.problems, ['REGISTER_WINDOW: must be a duration such as "10 minutes", "30s" or "1h"'])
})

t.test('production without AUTH_PRIVATE_KEY is refused with one clear line', async (t) => {
  const err = t.throws(() => loadAuthConfig({ NODE_ENV: 'production' })) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.problems.length, 1)
  t.match(err.problems[0], /^AUTH_PRIVATE_KEY: is required in production/)
  const ok = loadAuthConfig({ NODE_ENV: 'production', AUTH_PRIVATE_KEY: p256() })
  t.equal(ok.NODE_ENV, 'production')
})

t.test('a bad key, window, or partial staff account is refused, one line each', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  t.match((t.throws(() => loadAuthConfig({ AUTH_PRIVATE_KEY: 'not a pem' })) as ConfigError).problems, [/AUTH_PRIVATE_KEY: is not a readable PEM/])
  t.match((t.throws(() => loadAuthConfig({ AUTH_PRIVATE_KEY: rsa })) as ConfigError).problems, [/AUTH_PRIVATE_KEY: must be an EC P-256/])
  t.match((t.throws(() => loadAuthConfig({ AUTH_PRIVATE_KEY: p384 })) as ConfigError).problems, [/AUTH_PRIVATE_KEY: must be an EC P-256/])
  const err = t.throws(() => loadAuthConfig({ LOGIN_WINDOW: 'soon', STAFF_USERNAME: 'ops', LOGIN_MAX_PER_ACCOUNT: '0', REFRESH_TTL_DAYS: 'seven' })) as ConfigError
  t.equal(err.problems.length, 2, err.message)
  t.match(err.problems.join('\n'), /LOGIN_MAX_PER_ACCOUNT/)
  t.match(err.problems.join('\n'), /REFRESH_TTL_DAYS/)
  const second = t.throws(() => loadAuthConfig({ LOGIN_WINDOW: 'soon', STAFF_USERNAME: 'ops' })) as ConfigError
  t.same(second.problems.map((p) => p.split(':')[0]), ['LOGIN_WINDOW', 'STAFF_USERNAME, STAFF_EMAIL, STAFF_PASSWORD'])
  const weak = t.throws(() => loadAuthConfig({ STAFF_USERNAME: 'ops', STAFF_EMAIL: 'ops@example.com', STAFF_PASSWORD: 'password' })) as ConfigError
  t.match(weak.problems, [/^STAFF_PASSWORD: must be at least 10/])
  t.notMatch(weak.message, 'password\n', 'the password itself is not repeated')
})
