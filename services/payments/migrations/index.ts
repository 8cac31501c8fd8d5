import type { Migrations } from '@topup/service-kit'
import * as createTransactions from './2026-11-25T0900_create_transactions.js'
import * as createOutboxInbox from './2026-11-25T0910_create_outbox_inbox.js'

/** Applied in name order; a migration, once shipped, is never edited. */
export const migrations: Migrations = {
  '2026-11-25T0900_create_transactions': createTransactions,
  '2026-11-25T0910_create_outbox_inbox': createOutboxInbox
}
