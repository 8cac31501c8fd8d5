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

export interface DatabasePluginOptions {
  url: string
}

/** The auth database, created and migrated on start, closed with the app (service-kit's openDatabase). */
export default fp(async function database (app: App, options: DatabasePluginOptions) {
  const db = await openDatabase<Database>(app, { url: options.url, migrations })
  app.decorate('db', db)
}, { name: 'auth-database' })
