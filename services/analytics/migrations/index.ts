import type { Migration } from 'kysely'
import * as createReadModel from './2026-11-26T0900_create_read_model.js'
import * as createInbox from './2026-11-26T0910_create_inbox.js'
import * as topUserBlocks from './2026-12-01T0900_top_user_blocks.js'
import * as businessDaysAndTimeline from './2026-12-12T0900_business_days_and_timeline.js'

/**
 * Applied in name order; a migration, once shipped, is never edited. The
 * files import nothing but kysely (not even service-kit's `Migrations`
 * type): test/migrations/frozen.test.ts checks it.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-26T0900_create_read_model': createReadModel,
  '2026-11-26T0910_create_inbox': createInbox,
  '2026-12-01T0900_top_user_blocks': topUserBlocks,
  '2026-12-12T0900_business_days_and_timeline': businessDaysAndTimeline
}
