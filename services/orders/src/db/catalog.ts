import { sql, type Kysely, type Transaction } from 'kysely'
import { canonicalDecimal } from './decimal.js'
import type { Database } from './schema.js'

type Db = Kysely<Database> | Transaction<Database>

export interface ProductView { id: number, name: string, price: string, in_game_currency: string }
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

export async function insertProduct (db: Db, product: { game_id: number, name: string, price: string, in_game_currency: string }) {
  return await db.insertInto('products').values(product).returning(['id', 'game_id', 'name', 'price', 'in_game_currency']).executeTakeFirstOrThrow()
}

export async function updateProduct (db: Db, id: number, changes: { game_id?: number, name?: string, price?: string, in_game_currency?: string }) {
  if (Object.keys(changes).length === 0) {
    return await db.selectFrom('products').select(['id', 'game_id', 'name', 'price', 'in_game_currency']).where('id', '=', id).executeTakeFirst()
  }
  return await db.updateTable('products').set(changes).where('id', '=', id).returning(['id', 'game_id', 'name', 'price', 'in_game_currency']).executeTakeFirst()
}

/**
 * The catalog check of a top-up in one round trip: the active game named by
 * the client (trimmed by the route; name in any case, and code, must both
 * match), and beside it the product, only if id, name, game and price (as an
 * exact decimal) all match. No row: no such active game; a row without a
 * product: the product does not match. (Two queries before; one statement
 * fewer per order.)
 */
export async function findGameAndProduct (db: Db, match: { gameName: string, gameCode: string, productId: number, productName: string, price: string | null }) {
  const row = await db.selectFrom('games as g')
    .leftJoin('products as p', (join) => join
      .onRef('p.game_id', '=', 'g.id')
      .on('p.id', '=', match.productId)
      .on('p.name', '=', match.productName)
      // no price (not a decimal at all) compares as NULL: matches nothing
      .on('p.price', '=', sql<string>`${match.price}::numeric`))
    .select(['g.id as game_id', 'g.name as game_name', 'g.code as game_code', 'p.id as product_id', 'p.name as product_name', 'p.price', 'p.in_game_currency'])
    .where(sql<string>`lower(g.name)`, '=', match.gameName.toLowerCase())
    .where('g.code', '=', match.gameCode)
    .where('g.is_active', '=', true)
    .executeTakeFirst()
  if (row === undefined) return { game: undefined, product: undefined }
  const game = { id: row.game_id, name: row.game_name, code: row.game_code }
  if (row.product_id === null || row.product_name === null || row.price === null || row.in_game_currency === null) return { game, product: undefined }
  return { game, product: { id: row.product_id, name: row.product_name, price: row.price, in_game_currency: row.in_game_currency } }
}

export async function catalogIsEmpty (db: Db): Promise<boolean> {
  return (await db.selectFrom('games').select('id').limit(1).executeTakeFirst()) === undefined
}

export interface Mismatch { field: string, message: string }

/**
 * Why a top-up's game or product did not match the catalog, field by field:
 * read only for a refused order (the catalog check above stays one statement),
 * so the client learns which of game name, game id, product id, name or price
 * to correct. The catalog is public (GET /api/games/), so this tells nothing
 * that is not there already.
 */
export async function explainMismatch (db: Db, match: { gameName: string, gameCode: string, productId: number, productName: string, price: string | null }): Promise<Mismatch[]> {
  const byCode = await db.selectFrom('games').select(['id', 'name', 'code', 'is_active']).where('code', '=', match.gameCode).executeTakeFirst()
  if (byCode === undefined) {
    const byName = await db.selectFrom('games').select(['code']).where(sql<string>`lower(name)`, '=', match.gameName.toLowerCase()).executeTakeFirst()
    return byName === undefined
      ? [{ field: 'gamename', message: `no game is called "${match.gameName}"` }, { field: 'game_id', message: `no game has the id "${match.gameCode}"` }]
      : [{ field: 'game_id', message: `"${match.gameName}" has the id "${byName.code}", not "${match.gameCode}"` }]
  }
  if (byCode.name.toLowerCase() !== match.gameName.toLowerCase()) return [{ field: 'gamename', message: `the game "${match.gameCode}" is called "${byCode.name}", not "${match.gameName}"` }]
  if (!byCode.is_active) return [{ field: 'game_id', message: `"${byCode.name}" is not on sale at the moment` }]
  const product = await db.selectFrom('products').select(['game_id', 'name', 'price']).where('id', '=', match.productId).executeTakeFirst()
  if (product === undefined || product.game_id !== byCode.id) return [{ field: 'product_id', message: `"${byCode.name}" has no product ${match.productId}` }]
  const problems: Mismatch[] = []
  if (product.name !== match.productName) problems.push({ field: 'product_name', message: `product ${match.productId} is "${product.name}", not "${match.productName}"` })
  // one spelling per value ("699" = "699.00"), as the catalog check compares them as numeric
  if (match.price === null || canonicalDecimal(product.price) !== canonicalDecimal(match.price)) problems.push({ field: 'product_price', message: `must be ${product.price}, the price of "${product.name}"` })
  return problems
}
