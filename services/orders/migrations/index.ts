import type { Migrations } from '@topup/service-kit'
import * as createCatalog from './2026-11-25T0900_create_catalog.js'
import * as createOrders from './2026-11-25T0910_create_orders.js'
import * as createOutboxInbox from './2026-11-25T0920_create_outbox_inbox.js'

/** Applied in name order; a migration, once shipped, is never edited. */
export const migrations: Migrations = {
  '2026-11-25T0900_create_catalog': createCatalog,
  '2026-11-25T0910_create_orders': createOrders,
  '2026-11-25T0920_create_outbox_inbox': createOutboxInbox
}
