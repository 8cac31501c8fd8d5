import { sql, type Kysely } from 'kysely'
import { catalogIsEmpty } from './db/catalog.js'
import type { Database } from './db/schema.js'

/**
 * A small catalog for development, loaded when the catalog is empty. Its
 * fourth product is the original system's example: "UC Pack 500" of
 * "clash of clan" (coc123) at 699.00, so the docs/DESIGN.md §2.1 request works as is.
 */
export const demoCatalog = [
  {
    name: 'clash of clan',
    code: 'coc123',
    products: [
      { name: 'Gem Pouch 80', price: '99.00', in_game_currency: '80' },
      { name: 'Gem Box 500', price: '449.00', in_game_currency: '500' },
      { name: 'Gem Chest 1200', price: '999.00', in_game_currency: '1200' },
      { name: 'UC Pack 500', price: '699.00', in_game_currency: '500' }
    ]
  },
  {
    name: 'PUBG Mobile',
    code: 'pubgm',
    products: [
      { name: 'UC 60', price: '75.00', in_game_currency: '60' },
      { name: 'UC 325', price: '380.00', in_game_currency: '325' },
      { name: 'UC 660', price: '750.00', in_game_currency: '660' }
    ]
  },
  {
    name: 'Free Fire',
    code: 'freefire',
    products: [
      { name: 'Diamonds 100', price: '80.00', in_game_currency: '100' },
      { name: 'Diamonds 520', price: '400.00', in_game_currency: '520' }
    ]
  },
  {
    name: 'Genshin Impact',
    code: 'genshin',
    products: [
      { name: 'Genesis Crystals 300', price: '399.00', in_game_currency: '300' },
      { name: 'Genesis Crystals 980', price: '1199.00', in_game_currency: '980' }
    ]
  }
] as const

export async function loadDemoCatalog (db: Kysely<Database>): Promise<boolean> {
  return await db.transaction().execute(async (trx) => {
    // one instance loads it; the others wait on the lock and then see it is there
    await sql`SELECT pg_advisory_xact_lock(4242001)`.execute(trx)
    if (!await catalogIsEmpty(trx)) return false
    for (const game of demoCatalog) {
      const { id } = await trx.insertInto('games').values({ name: game.name, code: game.code, is_active: true }).returning('id').executeTakeFirstOrThrow()
      for (const product of game.products) {
        await trx.insertInto('products').values({ game_id: id, ...product }).execute()
      }
    }
    return true
  })
}
