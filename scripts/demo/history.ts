/**
 * The whole history, decided from a seed before the first request: who buys
 * what, when, and how the payment ends. The same seed gives the same history.
 */
import { createHash } from 'node:crypto'

const DAY_MS = 86_400_000
const PENDING_SHARE = 0.02
const SUCCESS_SHARE = 0.70

export interface Product { id: number, name: string, price: string }
export interface Game { id: number, name: string, game_id: string, is_active?: boolean, products: Product[] }

export type Outcome = 'success' | 'failed' | 'pending'

export interface Session { access: string, refresh: string, at: number }

export interface Player {
  index: number
  username: string
  activity: number
  /** The day (0 … days-1) they joined. */
  joined: number
  /** Index of their favourite game. */
  favourite: number
  // --- what the run learns about them
  isNew?: boolean
  session?: Session
  /** Registered and logged in (rejects when that failed). */
  ready?: Promise<void>
  /** A token refresh under way, shared by all their requests. */
  refreshing?: Promise<void> | undefined
}

export interface PlannedOrder {
  /** 1 … n in the order of createdAt: part of its Idempotency-Key. */
  seq: number
  player: Player
  game: Game
  product: Product
  createdAt: Date
  outcome: Outcome
  // --- what the run learns about it
  orderId?: string
  transactionId?: string
  replayed?: boolean
  failed?: boolean
}

export interface History {
  plan: PlannedOrder[]
  players: Player[]
  /** Midnight (UTC, ms) of the first and of the last day. */
  firstDay: number
  today: number
}

/** mulberry32 seeded with the seed's SHA-256: a small, fast generator that gives the same numbers for the same seed. */
export function seededRandom (seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0)
  return function mulberry32 () {
    a = (a + 0x6D2B79F5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Index drawn with probability proportional to its weight. */
export function pick (random: () => number, weights: readonly number[], total = weights.reduce((a, b) => a + b, 0)): number {
  let r = random() * total
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i] ?? 0
    if (r < 0) return i
  }
  return weights.length - 1
}

/** Money as integer hundredths: "699.00" → 69900, and back. */
export const cents = (amount: string): number => Math.round(Number(amount) * 100)
export const money = (c: number): string => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`

/** The UTC day of an instant, as the API's dates are written. */
export const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

function at<T> (items: readonly T[], index: number): T {
  const item = items[index]
  if (item === undefined) throw new Error(`no item ${index} of ${items.length}`)
  return item
}

/**
 * - players: activity from a Pareto tail (a few whales, many occasional
 *   buyers), a favourite game, and a day they joined (a third were there from
 *   the start, the rest arrive over the period);
 * - days: a gentle growth trend, busier Fridays and weekends, some noise;
 *   times of day follow the Indian evening (prices are in INR);
 * - products: popular games and cheaper packs sell more; 70 % of a player's
 *   orders are for their favourite game;
 * - payments: ~70 % succeed, ~28 % fail, ~2 % stay pending.
 */
export function planHistory ({ random, players: playerCount, days, orders: orderCount, games, now }: {
  random: () => number, players: number, days: number, orders: number, games: readonly Game[], now: Date
}): History {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const firstDay = today - (days - 1) * DAY_MS

  const gameWeights = games.map((_, i) => 1 / (i + 1) ** 0.8 * (0.7 + 0.6 * random()))
  const productWeights = games.map((game) => game.products.map((p) => (0.6 + 0.8 * random()) / Math.max(cents(p.price) / 100, 1) ** 0.55))

  const players: Player[] = Array.from({ length: playerCount }, (_, i) => {
    const activity = Math.min(1 / (1 - random()) ** (1 / 1.3), 40)
    const joined = random() < 0.35 ? 0 : Math.floor(random() ** 0.9 * days)
    const favourite = pick(random, gameWeights)
    return { index: i + 1, username: `demo_player_${String(i + 1).padStart(3, '0')}`, activity, joined, favourite }
  })

  // orders per day: trend × weekday × noise, shared out exactly
  const dayWeights = Array.from({ length: days }, (_, d) => {
    const weekday = new Date(firstDay + d * DAY_MS).getUTCDay()
    const week = weekday === 0 || weekday === 6 ? 1.35 : weekday === 5 ? 1.15 : 1
    return (1 + 0.8 * d / Math.max(days - 1, 1)) * week * (0.85 + 0.3 * random())
  })
  const totalWeight = dayWeights.reduce((a, b) => a + b, 0)
  const perDay = dayWeights.map((w) => Math.floor(orderCount * w / totalWeight))
  let missing = orderCount - perDay.reduce((a, b) => a + b, 0)
  for (let d = days - 1; missing > 0; d = (d - 1 + days) % days, missing--) perDay[d] = at(perDay, d) + 1

  // hours of the day, UTC: quiet at night in India (UTC+5:30), busiest in its evening
  const hourWeights = [3, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8.5, 10, 12, 14, 15, 14, 12, 9, 6, 4, 2.5, 2, 2.5]
  const elapsedToday = now.getTime() - today

  const plan: PlannedOrder[] = []
  for (let d = 0; d < days; d++) {
    const day = firstDay + d * DAY_MS
    const eligible = players.map((p) => (p.joined <= d ? p.activity : 0))
    const eligibleTotal = eligible.reduce((a, b) => a + b, 0)
    for (let n = 0; n < at(perDay, d); n++) {
      const player = at(players, pick(random, eligible, eligibleTotal))
      const gameIndex = random() < 0.7 ? player.favourite : pick(random, gameWeights)
      const game = at(games, gameIndex)
      const product = at(game.products, pick(random, at(productWeights, gameIndex)))
      const hour = pick(random, hourWeights)
      let offset = (hour * 3600 + random() * 3600) * 1000
      // today's orders happened before now (squeezed into the hours gone by, a minute of margin)
      if (day === today) offset = offset / DAY_MS * Math.max(elapsedToday - 60_000, elapsedToday / 2)
      const r = random()
      const outcome: Outcome = r < PENDING_SHARE ? 'pending' : r < PENDING_SHARE + SUCCESS_SHARE ? 'success' : 'failed'
      plan.push({ seq: 0, player, game, product, createdAt: new Date(day + Math.floor(offset)), outcome })
    }
  }
  plan.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
  plan.forEach((order, i) => { order.seq = i + 1 })
  return { plan, players, firstDay, today }
}
