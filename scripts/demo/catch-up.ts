/** Waiting for the pipeline to settle: the orders service, then the dashboard's figures. */
import pLimit from 'p-limit'
import { setTimeout as sleep } from 'node:timers/promises'
import { ScriptError } from '../common/settings.js'
import { messageOf, RequestError } from './client.js'
import type { Demo } from './context.js'
import { seededRandom, type PlannedOrder, type Session } from './history.js'
import { accessToken } from './players.js'

const CATCH_UP_WITHIN_MS = 120_000
const ASK_AGAIN_MS = 500

export interface Range { start: string, end: string }

export interface Summary {
  currency: string
  totals: { orders: number, successful_orders: number, failed_orders: number, revenue: string, success_rate: string | null }
}

export async function summary ({ client }: Demo, staff: Session, range: Range): Promise<Summary> {
  const result = await client.callWithRetry('GET', `/api/analytics/summary/?start_date=${range.start}&end_date=${range.end}`, { token: staff.access })
  if (result.status !== 200) throw new RequestError(`GET /api/analytics/summary/ → ${result.status} ${messageOf(result.body)}`, result.status, result.body)
  return result.body as Summary
}

/** Orders, as each player sees them, until a sample of them (the last 100 and as many others) shows its final status. */
export async function waitForOrders (demo: Demo, plan: readonly PlannedOrder[]): Promise<void> {
  const { client, config, progress } = demo
  const placed = plan.filter((o) => o.orderId !== undefined && o.failed !== true)
  const random = seededRandom('sample')
  const sample = new Set(placed.slice(-100))
  while (sample.size < Math.min(200, placed.length)) {
    const order = placed[Math.floor(random() * placed.length)]
    if (order !== undefined) sample.add(order)
  }
  let waiting = [...sample]
  progress.start('orders service', waiting.length)
  const limit = pLimit(config.concurrency)
  const deadline = Date.now() + CATCH_UP_WITHIN_MS
  while (waiting.length > 0) {
    const still: PlannedOrder[] = []
    await Promise.all(waiting.map((order) => limit(async () => {
      const token = await accessToken(demo, order.player)
      const result = await client.callWithRetry('GET', `/api/orders/${order.orderId}`, { token })
      if (result.status === 200 && (result.body as { status?: string }).status === order.outcome) progress.increment()
      else still.push(order)
    })))
    waiting = still
    if (waiting.length === 0) break
    if (Date.now() > deadline) {
      throw new ScriptError(`${waiting.length} orders still do not show their payment result after 2 minutes (e.g. ${waiting[0]?.orderId}): is the payments → orders event flow working?`)
    }
    await sleep(ASK_AGAIN_MS)
  }
  progress.stop()
}

/** The dashboard's figures (analytics), until they count every order of this run on top of `before`. */
export async function waitForAnalytics (demo: Demo, staff: Session, range: Range, before: Summary): Promise<Summary> {
  const { progress, tally } = demo
  const expected = {
    orders: before.totals.orders + tally.created,
    successful_orders: before.totals.successful_orders + tally.changed.success,
    failed_orders: before.totals.failed_orders + tally.changed.failed
  }
  const counted = (totals: Summary['totals']): number => Math.min(totals.orders - before.totals.orders, tally.created) +
    Math.min(totals.successful_orders - before.totals.successful_orders, tally.changed.success) +
    Math.min(totals.failed_orders - before.totals.failed_orders, tally.changed.failed)
  const target = tally.created + tally.changed.success + tally.changed.failed
  if (target === 0) return await summary(demo, staff, range)
  progress.start('analytics', target, () => 'events applied')
  const deadline = Date.now() + CATCH_UP_WITHIN_MS
  for (;;) {
    const now = await summary(demo, staff, range)
    progress.set(Math.max(0, counted(now.totals)))
    if (now.totals.orders >= expected.orders && now.totals.successful_orders >= expected.successful_orders && now.totals.failed_orders >= expected.failed_orders) {
      progress.stop()
      return now
    }
    if (Date.now() > deadline) {
      throw new ScriptError(`the dashboard's figures have not caught up after 2 minutes (expected at least ${JSON.stringify(expected)}, got ${JSON.stringify(now.totals)}): is analytics consuming the events?`)
    }
    await sleep(ASK_AGAIN_MS)
  }
}
