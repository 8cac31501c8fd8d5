/** The catalog the benchmark orders from: the demo catalog orders loads on its first start in development. */

export interface CatalogProduct {
  game_id: number
  game_code: string
  game_name: string
  product_id: number
  product_name: string
  /** Decimal string, two places. */
  price: string
  in_game_currency: string
}

interface GameView { id: number, name: string, game_id: string, products: Array<{ id: number, name: string, price: string, in_game_currency: string }> }

/** GET /api/games/ through the gateway: every active product with its game. */
export async function readCatalog (gatewayUrl: string): Promise<CatalogProduct[]> {
  const res = await fetch(`${gatewayUrl}/api/games/`, { signal: AbortSignal.timeout(10_000) })
  if (res.status !== 200) throw new Error(`GET /api/games/ answered ${res.status}`)
  const games = await res.json() as GameView[]
  const products = games.flatMap((g) => g.products.map((p) => ({
    game_id: g.id, game_code: g.game_id, game_name: g.name, product_id: p.id, product_name: p.name, price: p.price, in_game_currency: p.in_game_currency
  })))
  if (products.length === 0) throw new Error('the catalog is empty (orders loads the demo catalog in development: is NODE_ENV production?)')
  return products
}

/** The POST /api/topup/ body that orders this product (docs/DESIGN.md §2.1). */
export function topupBody (p: CatalogProduct): string {
  return JSON.stringify({ gamename: p.game_name, game_id: p.game_code, product_name: p.product_name, product_id: p.product_id, product_price: p.price })
}
