import type { Kysely } from 'kysely'
import { databasePlugin } from '@topup/service-kit'
import { migrations } from '../../migrations/index.js'
import type { Database } from '../db/schema.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}

/** The service's own database, created and migrated on start, closed with the app. */
export default databasePlugin<Database>(migrations)
