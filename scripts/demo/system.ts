/** The system the demo fills: up? staff? catalog? */
import { setTimeout as sleep } from 'node:timers/promises'
import { ScriptError } from '../common/settings.js'
import { messageOf, RequestError } from './client.js'
import type { Demo } from './context.js'
import type { Game, Session } from './history.js'

const READY_WITHIN_MS = 30_000

/** Waits (30 s at most) for the gateway's /ready on its admin listener: every service behind it answers. */
export async function checkGateway ({ config }: Demo): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS
  for (;;) {
    let result: { status: number, body: unknown }
    try {
      const response = await fetch(`${config.admin}/ready`, { signal: AbortSignal.timeout(10_000) })
      result = { status: response.status, body: await response.json().catch(() => undefined) }
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      throw new ScriptError(`the gateway's admin listener at ${config.admin} does not answer (${cause?.code ?? (err as Error).message}): start the system first: npm start`)
    }
    if (result.status === 200) return
    if (Date.now() > deadline) {
      throw new ScriptError(`the system at ${config.admin} is not ready (/ready → ${result.status} ${JSON.stringify(result.body)}): start the system first (npm start) and wait for "ready"`)
    }
    await sleep(1000)
  }
}

export async function login ({ client }: Demo, username: string, password: string): Promise<Session> {
  const result = await client.callWithRetry('POST', '/api/token/', { json: { username, password } })
  if (result.status === 200) {
    const { access, refresh } = result.body as { access: string, refresh: string }
    return { access, refresh, at: Date.now() }
  }
  throw new RequestError(`login of ${username} → ${result.status} ${messageOf(result.body)}`, result.status, result.body)
}

/** The staff session, when a staff login is configured and works (the demo goes on without one). */
export async function staffLogin (demo: Demo): Promise<Session | undefined> {
  const { username, password } = demo.config.staff
  if (username === undefined || password === undefined) return undefined
  try {
    return await login(demo, username, password)
  } catch (err) {
    demo.progress.note(`demo: staff login as ${username} failed (${(err as Error).message}); going on without staff`)
    return undefined
  }
}

/** A few games and packs, for a system whose catalog is (almost) empty: [name, price, in-game currency]. */
const FALLBACK_CATALOG: ReadonlyArray<{ name: string, game_id: string, products: ReadonlyArray<readonly [string, string, number]> }> = [
  { name: 'Clash Royale', game_id: 'cr-demo', products: [['Gem Pouch 80', '99.00', 80], ['Gem Box 500', '449.00', 500], ['Gem Chest 1200', '999.00', 1200]] },
  { name: 'PUBG Mobile', game_id: 'pubgm-demo', products: [['UC 60', '75.00', 60], ['UC 325', '380.00', 325], ['UC 660', '750.00', 660]] },
  { name: 'Free Fire', game_id: 'freefire-demo', products: [['Diamonds 100', '80.00', 100], ['Diamonds 520', '400.00', 520]] }
]

/** The active games with products; with a staff login, a few are added to a catalog that is (almost) empty. */
export async function loadCatalog (demo: Demo, staff: Session | undefined): Promise<Game[]> {
  const { client, progress } = demo
  const read = async (): Promise<Game[]> => {
    const result = await client.callWithRetry('GET', '/api/games/')
    if (result.status !== 200 || !Array.isArray(result.body)) throw new ScriptError(`GET /api/games/ → ${result.status} ${messageOf(result.body)}`)
    return (result.body as Game[]).filter((g) => g.is_active !== false && Array.isArray(g.products) && g.products.length > 0)
  }
  const games = await read()
  const products = games.reduce((n, g) => n + g.products.length, 0)
  if (games.length >= 3 && products >= 6) return games
  if (staff === undefined) {
    if (games.length > 0) {
      progress.note(`demo: the catalog is small (${games.length} games, ${products} products); set DEMO_STAFF_USERNAME/DEMO_STAFF_PASSWORD to let the demo add some`)
      return games
    }
    throw new ScriptError('the catalog is empty: start orders in development (it loads a demo catalog) or set DEMO_STAFF_USERNAME/DEMO_STAFF_PASSWORD so the demo can add one')
  }
  progress.note('demo: adding a few games and products to the catalog (as staff)')
  for (const game of FALLBACK_CATALOG) {
    if (games.some((g) => g.game_id === game.game_id)) continue
    const created = await client.callWithRetry('POST', '/api/games/', { token: staff.access, json: { name: game.name, game_id: game.game_id, is_active: true } })
    if (created.status !== 201) throw new ScriptError(`POST /api/games/ → ${created.status} ${messageOf(created.body)}`)
    const { id } = created.body as { id: number }
    for (const [name, price, currency] of game.products) {
      const product = await client.callWithRetry('POST', '/api/products/', { token: staff.access, json: { game: id, name, price, in_game_currency: currency } })
      if (product.status !== 201) throw new ScriptError(`POST /api/products/ → ${product.status} ${messageOf(product.body)}`)
    }
  }
  return await read()
}
