import envSchema from 'env-schema'
import { Type, type Static, type TObject, type TProperties, type TUnsafe } from 'typebox'

/** A string limited to a fixed set (a plain JSON-schema enum: one clear error, not one per branch). */
export function StringEnum<const T extends readonly string[]> (values: T, options: { default?: T[number], description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

/** Variables every service reads. Services extend this with their own. */
export const BaseEnv = {
  NODE_ENV: StringEnum(['development', 'test', 'production'], { default: 'development' }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  LOG_LEVEL: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  /** Issuer and audience of access tokens: every service checks both. */
  JWT_ISSUER: Type.String({ default: 'topup-auth', minLength: 1 }),
  JWT_AUDIENCE: Type.String({ default: 'topup-platform', minLength: 1 }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 1_048_576, minimum: 1024 }),
  /**
   * Whose X-Forwarded-For is believed (the client address behind the gateway,
   * for login throttling and logs): Fastify's trustProxy — `loopback`, a
   * comma-separated list of addresses or CIDRs, or `false`.
   */
  TRUST_PROXY: Type.String({ default: 'loopback', minLength: 1 })
} satisfies TProperties

export type BaseConfig = Static<TObject<typeof BaseEnv>>

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

interface AjvLikeError { instancePath: string, message?: string, params: Record<string, unknown> }

function describe (error: AjvLikeError): string {
  const missing = error.params.missingProperty
  if (typeof missing === 'string') return `${missing}: is required but not set`
  const name = error.instancePath.replace(/^\//, '')
  const allowed = error.params.allowedValues
  if (Array.isArray(allowed)) return `${name}: must be one of ${allowed.join(', ')}`
  return `${name}: ${error.message ?? 'is invalid'}`
}

/**
 * Reads and validates configuration from the environment: one line per bad or
 * missing variable. Values named in `devSecrets` are refused in production, so a
 * development default can never reach real money.
 */
export function loadConfig<T extends TProperties> (
  properties: T,
  options: { env?: NodeJS.ProcessEnv, devSecrets?: Partial<Record<keyof T & string, string>> } = {}
): Static<TObject<T>> {
  const schema = Type.Object(properties)
  let config: Static<TObject<T>>
  try {
    config = envSchema<Static<TObject<T>>>({
      schema: schema as unknown as object,
      data: { ...(options.env ?? process.env) },
      dotenv: false
    })
  } catch (err) {
    const errors = (err as { errors?: AjvLikeError[] }).errors
    if (errors === undefined) throw err
    // one line per variable, even where a schema reports several errors for it
    const lines = new Map<string, string>()
    for (const e of errors) {
      const key = (e.params.missingProperty as string | undefined) ?? e.instancePath
      if (!lines.has(key)) lines.set(key, describe(e))
    }
    throw new ConfigError([...lines.values()])
  }
  const record = config as Record<string, unknown>
  if (record.NODE_ENV === 'production' && options.devSecrets !== undefined) {
    const problems: string[] = []
    for (const [name, devValue] of Object.entries(options.devSecrets)) {
      const value = record[name]
      if (value === undefined || value === '' || value === devValue) {
        problems.push(`${name}: must be set to a real secret in production (the development default is refused)`)
      }
    }
    if (problems.length > 0) throw new ConfigError(problems)
  }
  return config
}

/** For server.ts: print each problem on its own line and exit 1. */
export function loadConfigOrExit<T extends TProperties> (...args: Parameters<typeof loadConfig<T>>): Static<TObject<T>> {
  return configOrExit(() => loadConfig(...args))
}

/** For a server's start: a configuration that cannot be used prints one line per problem and exits 1. */
export function configOrExit<C> (load: () => C): C {
  try {
    return load()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
}
