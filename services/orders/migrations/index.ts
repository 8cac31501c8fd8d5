import type { Migration } from 'kysely'
import * as createCatalog from './2026-11-25T0900_create_catalog.js'
import * as createOrders from './2026-11-25T0910_create_orders.js'
import * as createOutboxInbox from './2026-11-25T0920_create_outbox_inbox.js'
import * as inGameCurrencyText from './2026-12-05T0900_in_game_currency_text.js'

/**
 * Applied in name order; a migration, once shipped, is never edited. The
 * files import nothing but kysely (not even service-kit's `Migrations`
 * type): test/migrations/frozen.test.ts checks it.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-25T0900_create_catalog': createCatalog,
  '2026-11-25T0910_create_orders': createOrders,
  '2026-11-25T0920_create_outbox_inbox': createOutboxInbox,
  '2026-12-05T0900_in_game_currency_text': inGameCurrencyText
}
