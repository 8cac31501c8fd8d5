import { Type, type Static, type TObject } from 'typebox'
import { BaseEnv } from '@topup/service-kit'

/** What differs between two event services' shared settings. */
export interface ServiceDefaults {
  /** The service's own port. */
  port: number
  /** Its database's name on the local PostgreSQL (development default). */
  database: string
}

/**
 * The environment every event service reads (orders, payments, analytics and
 * the ones to come): service-kit's base (NODE_ENV, HOST, LOG_LEVEL, the JWT
 * issuer and audience, body limit, proxy trust), its port and database, the
 * broker and where auth publishes the token keys. A service spreads this and
 * adds its own settings.
 */
export function serviceEnv (defaults: ServiceDefaults) {
  return {
    ...BaseEnv,
    PORT: Type.Integer({ default: defaults.port, minimum: 0, maximum: 65535 }),
    DATABASE_URL: Type.String({ default: `postgres://postgres@127.0.0.1:5432/${defaults.database}`, minLength: 1 }),
    AMQP_URL: Type.String({ default: 'amqp://guest:guest@127.0.0.1:5672', minLength: 1 }),
    /** Prefix of exchange and queue names (tests isolate themselves with it). */
    BROKER_PREFIX: Type.String({ default: '' }),
    /** Where the token keys are published (auth's JWKS). */
    AUTH_URL: Type.String({ default: 'http://127.0.0.1:3001', minLength: 1 })
  }
}

/** An event service's settings as loaded (what `infrastructure` and `buildService` read); a service's own config has these and more. */
export type ServiceConfig = Static<TObject<ReturnType<typeof serviceEnv>>>
