import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database, MatchedSecret, WebhookCallsTable } from './schema.js'

const MAX_BODY = 4096
/** An unsigned call is anyone's: keep enough to investigate, not enough to fill the table. */
const MAX_UNSIGNED_BODY = 256

/**
 * Every webhook call is kept, whatever its outcome: the call that moved a
 * transaction in the same database transaction as the move (a process killed
 * after the commit must not leave a settlement without its call), every
 * other one on its own once the answer is known.
 */
export async function recordWebhookCall (db: Kysely<Database> | Transaction<Database>, call: Insertable<WebhookCallsTable>): Promise<void> {
  // text columns refuse NUL: keep it visible instead of losing the record
  const body = call.body.replaceAll('\u0000', '\\u0000').slice(0, call.signature_valid ? MAX_BODY : MAX_UNSIGNED_BODY)
  await db.insertInto('webhook_calls').values({ ...call, body }).execute()
}

/** What the webhook route knows of a call when it is answered. */
export interface WebhookAudit {
  signatureValid: boolean
  outcome: string
  transactionId?: string
  status?: string
  /** Which webhook secret verified the signature (current or previous, during a rotation). */
  secret?: MatchedSecret
}

/** The call as it was received (the raw bytes the signature covers). */
export interface ReceivedCall { requestId: string, remoteAddress: string, body: string }

/** The audit row of one call: built here only, whether written with the settlement or after the answer. */
export function webhookCallRow (call: ReceivedCall, audit: WebhookAudit, responseStatus: number): Insertable<WebhookCallsTable> {
  return {
    request_id: call.requestId,
    remote_address: call.remoteAddress,
    signature_valid: audit.signatureValid,
    transaction_id: audit.transactionId ?? null,
    requested_status: audit.status ?? null,
    response_status: responseStatus,
    outcome: audit.outcome,
    body: call.body,
    matched_secret: audit.secret ?? null
  }
}

