import type { Kysely } from 'kysely'
import { createInboxTable, dropInboxTable } from '@topup/messaging'

/** Analytics only consumes: an inbox, no outbox. */
export async function up (db: Kysely<unknown>): Promise<void> {
  await createInboxTable(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await dropInboxTable(db)
}
