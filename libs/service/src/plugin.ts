import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { openDatabase, tokens, type Migrations } from '@topup/service-kit'
import { messaging, type AnyEventHandler } from '@topup/messaging'
import type { ServiceConfig } from './env.js'

export interface InfrastructureOptions {
  /** The service's name: its queue, its logs. */
  service: string
  config: ServiceConfig
  /** The service's own migrations (frozen: see docs/CONVENTIONS.md). */
  migrations: Migrations
  /** Its subscriptions, all in one place (`src/handlers/index.ts`); none: no consumer. */
  handlers?: Record<string, AnyEventHandler>
  /** Whether it publishes events (runs the outbox relay). */
  publishes?: boolean
}

/**
 * What every event service stands on, registered once, in this order:
 * access-token verification against auth's JWKS (`app.authenticate`,
 * `request.user`), the service's own database created and migrated
 * (`app.db`, checked by /ready, closed with the app), and RabbitMQ
 * (`app.messaging`: the relay of its outbox, the consumer of its handlers).
 *
 * `app.db` is typed by each service, once, next to its Database interface:
 * `declare module 'fastify' { interface FastifyInstance { db: Kysely<Database> } }`.
 */
export const infrastructure = fp(async function infrastructure (app: FastifyInstance, options: InfrastructureOptions) {
  const { config } = options
  await app.register(tokens, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, jwksBaseUrl: config.AUTH_URL })
  // typed by the service (see above); here only handed on
  const db = await openDatabase<unknown>(app, { url: config.DATABASE_URL, migrations: options.migrations })
  app.decorate('db', db)
  await app.register(messaging, {
    url: config.AMQP_URL,
    prefix: config.BROKER_PREFIX,
    service: options.service,
    db,
    ...(options.publishes === true ? { publishes: true, databaseUrl: config.DATABASE_URL } : {}),
    ...(options.handlers === undefined ? {} : { handlers: options.handlers })
  })
}, { name: 'service-infrastructure', dependencies: ['health'] })
