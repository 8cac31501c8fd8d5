import { Type } from 'typebox'
import { Currency, defineContract, Money, Timestamp, Uuid, type EventContract, type EventOf } from './envelope.js'

export const OrderStatus = Type.Union([Type.Literal('pending'), Type.Literal('success'), Type.Literal('failed')])

/** orders → payments, analytics: a top-up order was placed (docs/DESIGN.md §3). */
export const OrderCreated = defineContract({
  type: 'OrderCreated',
  version: 1,
  routingKey: 'orders.order-created.v1',
  data: Type.Object({
    order_id: Uuid,
    transaction_id: Uuid,
    user_id: Uuid,
    user_email: Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }),
    game: Type.Object({
      id: Type.Integer({ minimum: 1 }),
      code: Type.String({ minLength: 1 }),
      name: Type.String({ minLength: 1 })
    }),
    product: Type.Object({
      id: Type.Integer({ minimum: 1 }),
      name: Type.String({ minLength: 1 }),
      in_game_currency: Type.Integer({ minimum: 0 })
    }),
    amount: Money,
    currency: Currency,
    status: Type.Literal('pending'),
    created_at: Timestamp
  })
})
export type OrderCreatedEvent = EventOf<typeof OrderCreated>

/**
 * OrderCreated v2: the product's `in_game_currency` is text, as in the
 * original system's catalog ("500 UC"), where v1 had an integer. A field that
 * changes type breaks a v1 consumer, so it is a new contract (docs/DESIGN.md
 * §3): orders publishes v2; payments and analytics consume both, v1 for what
 * was published before the upgrade.
 */
export const OrderCreatedV2 = defineContract({
  type: 'OrderCreated',
  version: 2,
  routingKey: 'orders.order-created.v2',
  data: Type.Object({
    ...OrderCreated.data.properties,
    product: Type.Object({
      id: Type.Integer({ minimum: 1 }),
      name: Type.String({ minLength: 1 }),
      in_game_currency: Type.String({ minLength: 1, maxLength: 100, description: 'what the product gives, as the catalog says it, e.g. "500 UC"' })
    })
  })
})
export type OrderCreatedV2Event = EventOf<typeof OrderCreatedV2>

/** Either version of OrderCreated: what a consumer of both handles (the fields it reads are the same in each). */
export type AnyOrderCreatedEvent = OrderCreatedEvent | OrderCreatedV2Event

/** payments → orders, analytics: a payment reached a terminal status (docs/DESIGN.md §3). */
export const PaymentStatusChanged = defineContract({
  type: 'PaymentStatusChanged',
  version: 1,
  routingKey: 'payments.payment-status-changed.v1',
  data: Type.Object({
    transaction_id: Uuid,
    order_id: Uuid,
    status: Type.Union([Type.Literal('success'), Type.Literal('failed')]),
    previous_status: OrderStatus,
    amount: Money,
    currency: Currency,
    provider: Type.String({ minLength: 1 }),
    changed_at: Timestamp
  })
})
export type PaymentStatusChangedEvent = EventOf<typeof PaymentStatusChanged>

/** Every contract, in one place: a new version is added here beside the old one. */
export const contracts: readonly EventContract[] = [OrderCreated, OrderCreatedV2, PaymentStatusChanged]

const byRoutingKey = new Map<string, EventContract>(contracts.map((c) => [c.routingKey, c]))
const byTypeVersion = new Map<string, EventContract>(contracts.map((c) => [`${c.type}@${c.version}`, c]))

export function contractForRoutingKey (routingKey: string): EventContract | undefined {
  return byRoutingKey.get(routingKey)
}

export function contractFor (type: string, version: number): EventContract | undefined {
  return byTypeVersion.get(`${type}@${version}`)
}
