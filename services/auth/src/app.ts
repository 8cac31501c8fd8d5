import type { Writable } from 'node:stream'
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
// loads @fastify/jwt's type augmentation (app.jwt, request.user), which service-kit's declarations do not carry
import type {} from '@fastify/jwt'
import { createServer, tokens, type App } from '@topup/service-kit'
import { loginWindowMs, normalizePem, registerWindowMs, type AuthConfig } from './config.js'
import { loadOrCreateSigningKey } from './db/signing-keys.js'
import { TakenError } from './db/users.js'
import { signingKeyFromPem, type SigningKey } from './keys.js'
import database from './plugins/database.js'
import loginThrottle from './plugins/login-throttle.js'
import { strictValidatorCompiler } from './plugins/strict-validation.js'
import jwks from './routes/jwks/index.js'
import profile from './routes/profile/index.js'
import register from './routes/register/index.js'
import tokenRoutes from './routes/tokens/index.js'
import { ensureStaff } from './staff.js'

export interface AuthAppOptions {
  config: AuthConfig
}

async function signingKey (app: App, config: AuthConfig): Promise<SigningKey> {
  if (config.AUTH_PRIVATE_KEY !== undefined) return signingKeyFromPem(normalizePem(config.AUTH_PRIVATE_KEY))
  // development only: loadAuthConfig refuses a missing key in production
  const { key, created } = await loadOrCreateSigningKey(app.db)
  app.log.info({ kid: key.kid }, created ? 'generated a development signing key (kept in the database)' : 'using the development signing key from the database')
  return key
}

async function bootstrapStaff (app: App, config: AuthConfig): Promise<void> {
  const { STAFF_USERNAME: username, STAFF_EMAIL: email, STAFF_PASSWORD: password } = config
  if (username === undefined || email === undefined || password === undefined) return
  try {
    const { outcome, id } = await ensureStaff(app.db, { username, email, password }, { promote: false })
    if (outcome === 'created') app.log.info({ userId: id, username }, 'staff user created')
    else if (outcome === 'exists') app.log.warn({ userId: id, username }, 'STAFF_USERNAME belongs to a user who is not staff; left unchanged (use npm run create-staff to promote)')
  } catch (err) {
    if (!(err instanceof TakenError)) throw err
    app.log.warn({ username }, 'staff user not created: STAFF_EMAIL belongs to another user')
  }
}

/** The auth service: users, profiles, tokens and the JWKS. */
const authApp = fp(async function authApp (app: App, { config }: AuthAppOptions) {
  await app.register(database, { url: config.DATABASE_URL })
  const key = await signingKey(app, config)
  await app.register(tokens, {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    signingKey: { privateKeyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem, kid: key.kid }
  })
  // once for the app: the login throttle's limiters and the registration route's limit
  await app.register(rateLimit, { global: false })
  await app.register(loginThrottle, {
    maxPerIp: config.LOGIN_MAX_PER_IP,
    maxPerPair: config.LOGIN_MAX_PER_ACCOUNT,
    maxPerAccount: config.LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES,
    windowMs: loginWindowMs(config)
  })
  await bootstrapStaff(app, config)

  await app.register(async function routes (api: App) {
    api.setValidatorCompiler(strictValidatorCompiler())
    await api.register(register, { maxPerIp: config.REGISTER_MAX_PER_IP, windowMs: registerWindowMs(config) })
    await api.register(tokenRoutes, { refreshTtlDays: config.REFRESH_TTL_DAYS })
    await api.register(profile)
    await api.register(jwks, { keys: [key.jwk] })
  })
}, { name: 'auth-app' })

export default authApp

export interface BuildOptions {
  logStream?: Writable
}

export async function buildApp (config: AuthConfig, options: BuildOptions = {}): Promise<App> {
  const app = createServer({
    service: 'auth',
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    ...(options.logStream === undefined ? {} : { logStream: options.logStream }),
    docs: { title: 'auth', description: 'Users, profiles, access and refresh tokens' }
  })
  await app.register(authApp, { config })
  return app
}
