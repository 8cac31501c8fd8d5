import type { Kysely } from 'kysely'
import { createInboxTable, createOutboxTable, dropInboxTable, dropOutboxTable } from '@topup/messaging'

export async function up (db: Kysely<unknown>): Promise<void> {
  await createOutboxTable(db)
  await createInboxTable(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await dropInboxTable(db)
  await dropOutboxTable(db)
}
