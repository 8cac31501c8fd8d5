import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { openDatabase, type App } from '@topup/service-kit'
import { migrations } from '../../migrations/index.js'
import type { Database } from '../db/schema.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}

export default fp(async function db (app: App, options: { url: string }) {
  app.decorate('db', await openDatabase<Database>(app, { url: options.url, migrations }))
}, { name: 'db', dependencies: ['health'] })
