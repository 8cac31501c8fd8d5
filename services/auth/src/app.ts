import rateLimit from '@fastify/rate-limit'
// loads @fastify/jwt's type augmentation (app.jwt, request.user), which service-kit's declarations do not carry
import type {} from '@fastify/jwt'
import { buildService, databasePlugin, tokens, type App, type BuildOptions } from '@topup/service-kit'
import { keysReloadMs, loginWindowMs, registerWindowMs, type AuthConfig } from './config.js'
import { SharedState } from './redis.js'
import { sharedRateLimitStore } from './shared-rate-limit-store.js'
import { bootstrapStaff, loadKeyring } from './startup.js'
import { migrations } from '../migrations/index.js'
import loginThrottle from './plugins/login-throttle.js'
import { strictValidatorCompiler } from './plugins/strict-validation.js'
import jwks from './routes/jwks/index.js'
import profile from './routes/profile/index.js'
import register from './routes/register/index.js'
import tokenRoutes from './routes/tokens/index.js'

/** The auth service: users, profiles, tokens and the JWKS. */
const authApp = async function authApp (app: App, { config }: { config: AuthConfig }): Promise<void> {
  await app.register(databasePlugin(migrations), { url: config.DATABASE_URL })
  const keyring = await loadKeyring(app, config, keysReloadMs(config))
  await app.register(tokens, {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    signingKeys: { signing: () => keyring.signing(), publicKey: async (kid) => await keyring.publicKey(kid) }
  })
  // REDIS_URL: the login throttle's and the registration limit's counters are shared by every instance
  let shared: SharedState | undefined
  if (config.REDIS_URL !== undefined) {
    const state = new SharedState(config.REDIS_URL, config.REDIS_PREFIX, app.log)
    shared = state
    app.addHook('onClose', async () => { await state.close() })
    await state.connected()
  }
  // once for the app: the login throttle's limiters and the registration route's limit
  await app.register(rateLimit, { global: false, ...(shared === undefined ? {} : { store: sharedRateLimitStore(shared) }) })
  await app.register(loginThrottle, {
    maxPerIp: config.LOGIN_MAX_PER_IP,
    maxPerPair: config.LOGIN_MAX_PER_ACCOUNT,
    maxPerAccount: config.LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES,
    windowMs: loginWindowMs(config),
    shared
  })
  await bootstrapStaff(app, config)

  await app.register(async function routes (api: App) {
    api.setValidatorCompiler(strictValidatorCompiler())
    await api.register(register, { maxPerIp: config.REGISTER_MAX_PER_IP, windowMs: registerWindowMs(config) })
    await api.register(tokenRoutes, { refreshTtlDays: config.REFRESH_TTL_DAYS })
    await api.register(profile)
    await api.register(jwks, { keys: () => keyring.jwks() })
  })
}

export default authApp

export const buildApp = async (config: AuthConfig, options: BuildOptions = {}) =>
  await buildService({ service: 'auth', app: authApp, docs: { title: 'auth', description: 'Users, profiles, access and refresh tokens' } }, config, {}, options)
