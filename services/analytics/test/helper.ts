import { randomUUID } from 'node:crypto'
import { PLAYER_ID, STAFF_ID, type Teardown, type TestTokenIssuer } from '@topup/service-kit/testing'
import { makeEvent, OrderCreated, PaymentStatusChanged, type OrderCreatedEvent, type PaymentStatusChangedEvent } from '@topup/contracts'
import { deliverEvent } from '@topup/messaging'
import { buildTestApp, type TestApp } from '@topup/service/testing'
import { buildApp } from '../src/app.js'
import { loadAnalyticsConfig } from '../src/config.js'
import { subscriptions } from '../src/handlers/index.js'
export { waitFor } from '@topup/service-kit/testing'

export interface Harness extends TestApp<Awaited<ReturnType<typeof buildApp>>> {
  /** Applies an event through the consumer's own code (contract check, inbox + handler in one transaction), without the broker: true if applied, false if a duplicate. */
  deliver: (event: AnyEvent) => Promise<boolean>
}

export type AnyEvent = OrderCreatedEvent | PaymentStatusChangedEvent

export { PLAYER_ID, STAFF_ID }

/** Builds the analytics app on a throwaway database and broker prefix; closed (and its queues deleted) after the test. */
export async function build (t: Teardown, options: { env?: Record<string, string>, now?: () => Date, extend?: (app: Harness['app'], issuer: TestTokenIssuer) => void } = {}): Promise<Harness> {
  const test = await buildTestApp(t, 'analytics', async (env, build) =>
    await buildApp(loadAnalyticsConfig({ ...env, ...options.env }), { ...build, ...(options.now === undefined ? {} : { now: options.now }) }),
  options.extend === undefined ? {} : { extend: options.extend })
  return { ...test, deliver: async (event) => await deliver(test.app.db, event) }
}

/** An event as the broker would carry it (JSON), applied by the consumer's own code: `deliverEvent` of @topup/messaging. */
export async function deliver (db: Harness['app']['db'], event: AnyEvent): Promise<boolean> {
  const routingKey = event.type === 'OrderCreated' ? OrderCreated.routingKey : PaymentStatusChanged.routingKey
  return await deliverEvent(db, subscriptions, routingKey, JSON.parse(JSON.stringify(event)))
}

export interface OrderSpec {
  order_id?: string
  transaction_id?: string
  user_id?: string
  user_email?: string
  game?: { id: number, code: string, name: string }
  product?: { id: number, name: string, in_game_currency?: number }
  amount?: string
  created_at: string
}

export const GAME = { id: 1, code: 'coc123', name: 'clash of clan' }
export const PRODUCT = { id: 4, name: 'UC Pack 500', in_game_currency: 500 }

export function orderCreated (spec: OrderSpec): OrderCreatedEvent {
  const product = spec.product ?? PRODUCT
  return makeEvent(OrderCreated, {
    order_id: spec.order_id ?? randomUUID(),
    transaction_id: spec.transaction_id ?? randomUUID(),
    user_id: spec.user_id ?? PLAYER_ID,
    user_email: spec.user_email ?? 'player@players.test',
    game: spec.game ?? GAME,
    product: { id: product.id, name: product.name, in_game_currency: product.in_game_currency ?? 100 },
    amount: spec.amount ?? '699.00',
    currency: 'INR',
    status: 'pending',
    created_at: spec.created_at
  }, { correlationId: `test-${randomUUID()}`, occurredAt: spec.created_at })
}

export function paymentChanged (order: OrderCreatedEvent, status: 'success' | 'failed', changedAt?: string): PaymentStatusChangedEvent {
  return makeEvent(PaymentStatusChanged, {
    transaction_id: order.data.transaction_id,
    order_id: order.data.order_id,
    status,
    previous_status: 'pending',
    amount: order.data.amount,
    currency: order.data.currency,
    provider: 'sandbox',
    changed_at: changedAt ?? order.data.created_at
  }, { correlationId: order.correlation_id })
}


/** A small seeded random generator (mulberry32): property tests name the seed that reproduces a failure. */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}
