import type { Migration } from 'kysely'
import * as createTransactions from './2026-11-25T0900_create_transactions.js'
import * as createOutboxInbox from './2026-11-25T0910_create_outbox_inbox.js'
import * as transactionExpiry from './2026-12-03T0900_transaction_expiry.js'
import * as webhookMatchedSecret from './2026-12-03T0910_webhook_matched_secret.js'
import * as transactionCorrelationId from './2026-12-03T0920_transaction_correlation_id.js'

/**
 * Applied in name order; a migration, once shipped, is never edited. The
 * files import nothing but kysely (not even service-kit's `Migrations`
 * type): test/migrations/frozen.test.ts checks it.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-25T0900_create_transactions': createTransactions,
  '2026-11-25T0910_create_outbox_inbox': createOutboxInbox,
  '2026-12-03T0900_transaction_expiry': transactionExpiry,
  '2026-12-03T0910_webhook_matched_secret': webhookMatchedSecret,
  '2026-12-03T0920_transaction_correlation_id': transactionCorrelationId
}
