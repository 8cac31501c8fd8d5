import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from './schema.js'

type Db = Kysely<Database> | Transaction<Database>

export interface ProductView { id: number, name: string, price: string, in_game_currency: number }
export interface GameView { id: number, name: string, game_id: string, is_active: boolean, products: ProductView[] }

export async function listActiveGames (db: Db): Promise<GameView[]> {
  const games = await db.selectFrom('games').select(['id', 'name', 'code', 'is_active']).where('is_active', '=', true).orderBy('id').execute()
  if (games.length === 0) return []
  const products = await db.selectFrom('products').select(['id', 'game_id', 'name', 'price', 'in_game_currency'])
    .where('game_id', 'in', games.map((g) => g.id)).orderBy('id').execute()
  return games.map((g) => ({
    id: g.id,
    name: g.name,
    game_id: g.code,
    is_active: g.is_active,
    products: products.filter((p) => p.game_id === g.id).map(({ id, name, price, in_game_currency }) => ({ id, name, price, in_game_currency }))
  }))
}

export async function insertGame (db: Db, game: { name: string, code: string, is_active: boolean }) {
  return await db.insertInto('games').values(game).returning(['id', 'name', 'code', 'is_active']).executeTakeFirstOrThrow()
}

export async function updateGame (db: Db, id: number, changes: { name?: string, code?: string, is_active?: boolean }) {
  if (Object.keys(changes).length === 0) {
    return await db.selectFrom('games').select(['id', 'name', 'code', 'is_active']).where('id', '=', id).executeTakeFirst()
  }
  return await db.updateTable('games').set(changes).where('id', '=', id).returning(['id', 'name', 'code', 'is_active']).executeTakeFirst()
}

export async function gameExists (db: Db, id: number): Promise<boolean> {
  return (await db.selectFrom('games').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
}

export async function insertProduct (db: Db, product: { game_id: number, name: string, price: string, in_game_currency: number }) {
  return await db.insertInto('products').values(product).returning(['id', 'game_id', 'name', 'price', 'in_game_currency']).executeTakeFirstOrThrow()
}

export async function updateProduct (db: Db, id: number, changes: { game_id?: number, name?: string, price?: string, in_game_currency?: number }) {
  if (Object.keys(changes).length === 0) {
    return await db.selectFrom('products').select(['id', 'game_id', 'name', 'price', 'in_game_currency']).where('id', '=', id).executeTakeFirst()
  }
  return await db.updateTable('products').set(changes).where('id', '=', id).returning(['id', 'game_id', 'name', 'price', 'in_game_currency']).executeTakeFirst()
}

/** The active game named by the client (trimmed by the route): name (any case) and code must both match. */
export async function findActiveGame (db: Db, name: string, code: string) {
  return await db.selectFrom('games').select(['id', 'name', 'code'])
    .where(sql<string>`lower(name)`, '=', name.toLowerCase())
    .where('code', '=', code)
    .where('is_active', '=', true)
    .executeTakeFirst()
}

/** The product, only if id, name, game and price (as an exact decimal) all match. */
export async function findMatchingProduct (db: Db, match: { id: number, gameId: number, name: string, price: string }) {
  return await db.selectFrom('products').select(['id', 'name', 'price', 'in_game_currency'])
    .where('id', '=', match.id)
    .where('game_id', '=', match.gameId)
    .where('name', '=', match.name)
    .where('price', '=', sql<string>`${match.price}::numeric`)
    .executeTakeFirst()
}

export async function catalogIsEmpty (db: Db): Promise<boolean> {
  return (await db.selectFrom('games').select('id').limit(1).executeTakeFirst()) === undefined
}
