import type { Migration } from 'kysely'
import * as createCredits from './2026-12-04T0900_create_credits.js'

/**
 * Applied in name order; a migration, once shipped, is never edited. The
 * files import nothing but kysely (not even service-kit's `Migrations`
 * type), like the services' (test/migrations/frozen.test.ts checks theirs).
 */
export const migrations: Record<string, Migration> = {
  '2026-12-04T0900_create_credits': createCredits
}
