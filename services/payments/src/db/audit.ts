import type { Insertable, Kysely } from 'kysely'
import type { Database, WebhookCallsTable } from './schema.js'

const MAX_BODY = 4096

/** Every webhook call is kept, whatever its outcome, outside the business transaction. */
export async function recordWebhookCall (db: Kysely<Database>, call: Insertable<WebhookCallsTable>): Promise<void> {
  await db.insertInto('webhook_calls').values({ ...call, body: call.body.slice(0, MAX_BODY) }).execute()
}
