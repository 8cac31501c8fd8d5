import { createPrivateKey } from 'node:crypto'
import { Type, type Static, type TObject } from 'typebox'
import { BaseEnv, ConfigError, loadConfig } from '@topup/service-kit'
import { passwordProblem } from './passwords.js'
import { parseDuration } from './duration.js'

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/topup_auth'

export const AuthEnv = {
  ...BaseEnv,
  PORT: Type.Integer({ default: 3001, minimum: 1, maximum: 65535 }),
  DATABASE_URL: Type.String({ default: DEFAULT_DATABASE_URL, minLength: 1 }),
  /** PEM of an EC P-256 private key (PKCS#8 or SEC1); literal "\n" sequences are accepted. */
  AUTH_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1 })),
  /** How often each instance reads the signing keys again (a key added or removed by npm run rotate-key takes effect within it). */
  SIGNING_KEYS_RELOAD: Type.String({ default: '10 seconds', minLength: 1 }),
  REFRESH_TTL_DAYS: Type.Integer({ default: 7, minimum: 1, maximum: 365 }),
  /** Redis for the login and registration counters shared by every instance (redis://host:6379); unset: each instance counts alone. */
  REDIS_URL: Type.Optional(Type.String({ minLength: 1 })),
  /** Prefix of every Redis key auth writes (tests give each file its own). */
  REDIS_PREFIX: Type.String({ default: 'topup:auth:' }),
  /** Failed logins per client address (any account) in LOGIN_WINDOW. */
  LOGIN_MAX_PER_IP: Type.Integer({ default: 20, minimum: 1 }),
  /** Failed logins per (account, client address) pair in LOGIN_WINDOW. */
  LOGIN_MAX_PER_ACCOUNT: Type.Integer({ default: 5, minimum: 1 }),
  /** Failed logins per account from all addresses together in LOGIN_WINDOW (addresses the account logged in from are exempt). */
  LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES: Type.Integer({ default: 100, minimum: 1 }),
  LOGIN_WINDOW: Type.String({ default: '1 minute', minLength: 1 }),
  /** Registration attempts per client address in REGISTER_WINDOW; 0 = no limit. */
  REGISTER_MAX_PER_IP: Type.Integer({ default: 20, minimum: 0 }),
  REGISTER_WINDOW: Type.String({ default: '10 minutes', minLength: 1 }),
  STAFF_USERNAME: Type.Optional(Type.String({ minLength: 1 })),
  STAFF_EMAIL: Type.Optional(Type.String({ minLength: 1 })),
  STAFF_PASSWORD: Type.Optional(Type.String({ minLength: 1 }))
}

export type AuthConfig = Static<TObject<typeof AuthEnv>>

/** A PEM from the environment, where newlines are often written as "\n". */
export function normalizePem (pem: string): string {
  return pem.replaceAll('\\n', '\n').trim() + '\n'
}

function privateKeyProblem (pem: string): string | undefined {
  try {
    const key = createPrivateKey(normalizePem(pem))
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      return 'AUTH_PRIVATE_KEY: must be an EC P-256 private key (ES256)'
    }
    return undefined
  } catch {
    return 'AUTH_PRIVATE_KEY: is not a readable PEM private key'
  }
}

/**
 * The auth service's configuration. Throws a ConfigError with one line per
 * problem: besides the types, production requires AUTH_PRIVATE_KEY (a key
 * generated on the fly is for development only) and the STAFF_* variables
 * come all together or not at all.
 */
export function loadAuthConfig (env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const config = loadConfig(AuthEnv, { env })
  const problems: string[] = []
  if (config.AUTH_PRIVATE_KEY === undefined) {
    if (config.NODE_ENV === 'production') {
      problems.push('AUTH_PRIVATE_KEY: is required in production (PEM of an EC P-256 private key); generated keys are for development only')
    }
  } else {
    const problem = privateKeyProblem(config.AUTH_PRIVATE_KEY)
    if (problem !== undefined) problems.push(problem)
  }
  if (parseDuration(config.SIGNING_KEYS_RELOAD) === undefined) {
    problems.push('SIGNING_KEYS_RELOAD: must be a duration such as "10 seconds" or "500ms"')
  }
  if (config.REDIS_URL !== undefined && !/^rediss?:\/\/./.test(config.REDIS_URL)) {
    problems.push('REDIS_URL: must be a redis:// or rediss:// URL')
  }
  if (parseDuration(config.LOGIN_WINDOW) === undefined) {
    problems.push('LOGIN_WINDOW: must be a duration such as "1 minute", "30s" or "15m"')
  }
  if (parseDuration(config.REGISTER_WINDOW) === undefined) {
    problems.push('REGISTER_WINDOW: must be a duration such as "10 minutes", "30s" or "1h"')
  }
  const staff = [config.STAFF_USERNAME, config.STAFF_EMAIL, config.STAFF_PASSWORD]
  const staffSet = staff.filter((v) => v !== undefined).length
  if (staffSet > 0 && staffSet < 3) {
    problems.push('STAFF_USERNAME, STAFF_EMAIL, STAFF_PASSWORD: set all three or none')
  } else if (config.STAFF_PASSWORD !== undefined && config.STAFF_USERNAME !== undefined) {
    const weak = passwordProblem(config.STAFF_PASSWORD, config.STAFF_USERNAME)
    if (weak !== undefined) problems.push(`STAFF_PASSWORD: ${weak}`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

/** The signing keys' reload interval in milliseconds (validated by loadAuthConfig). */
export function keysReloadMs (config: Pick<AuthConfig, 'SIGNING_KEYS_RELOAD'>): number {
  return parseDuration(config.SIGNING_KEYS_RELOAD) ?? 10_000
}

/** The login window in milliseconds (validated by loadAuthConfig). */
export function loginWindowMs (config: Pick<AuthConfig, 'LOGIN_WINDOW'>): number {
  return parseDuration(config.LOGIN_WINDOW) ?? 60_000
}

/** The registration window in milliseconds (validated by loadAuthConfig). */
export function registerWindowMs (config: Pick<AuthConfig, 'REGISTER_WINDOW'>): number {
  return parseDuration(config.REGISTER_WINDOW) ?? 600_000
}
