import type { Migrations } from '@topup/service-kit'
import * as createReadModel from './2026-11-26T0900_create_read_model.js'
import * as createInbox from './2026-11-26T0910_create_inbox.js'
import * as topUserBlocks from './2026-12-01T0900_top_user_blocks.js'

/** Applied in name order; a migration, once shipped, is never edited. */
export const migrations: Migrations = {
  '2026-11-26T0900_create_read_model': createReadModel,
  '2026-11-26T0910_create_inbox': createInbox,
  '2026-12-01T0900_top_user_blocks': topUserBlocks
}
