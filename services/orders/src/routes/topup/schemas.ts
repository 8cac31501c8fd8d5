import { Type } from 'typebox'
import { DECIMAL_AMOUNT } from '../fields.js'

/** docs/DESIGN.md §2.1's example request: the demo catalog's fourth product (see demo-catalog.ts). */
export const exampleTopupRequest = {
  gamename: 'clash of clan',
  game_id: 'coc123',
  product_name: 'UC Pack 500',
  product_id: 4,
  product_price: '699.00'
} as const

export const PRICE_PROBLEM = 'must be a decimal amount such as "699.00"'

export const TopupBody = Type.Object({
  gamename: Type.String({ minLength: 1, maxLength: 100, description: "The game's `name` in GET /api/games/. Surrounding spaces are ignored; matched regardless of case" }),
  game_id: Type.String({ minLength: 1, maxLength: 50, description: "The game's `game_id` (its code). Surrounding spaces are ignored" }),
  product_name: Type.String({ minLength: 1, maxLength: 100, description: "The product's `name`, exactly. Surrounding spaces are ignored" }),
  product_id: Type.Integer({ minimum: 1, maximum: 2147483647, description: "The product's `id`" }),
  product_price: Type.Union([
    // whether the decimal is the exact price is decided against the catalog
    Type.String({ pattern: DECIMAL_AMOUNT.source, maxLength: 60, description: 'a decimal string such as "699.00"' }),
    Type.Number({ minimum: 0, description: 'a JSON number such as 699' })
  ], { description: 'The price the client saw: a JSON number such as 699 or 699.0, or a decimal string such as "699.00" (digits, an optional fraction; no sign, exponent or spaces). Compared exactly, as written' })
}, {
  additionalProperties: false,
  examples: [exampleTopupRequest]
})

export const TopupCreated = Type.Object({
  message: Type.Literal('Top-up order created successfully.'),
  order_id: Type.String({ format: 'uuid', description: 'GET /api/orders/{order_id} shows the order', examples: ['cf772866-aeea-450c-bd79-79c04f831455'] }),
  transaction_id: Type.String({ format: 'uuid', description: 'The payment the provider reports on (the webhook\'s transaction_id)', examples: ['17338d20-39e4-47e5-b8cf-eb64d09e3d39'] }),
  status: Type.Literal('pending')
}, { description: 'The order is placed; it is pending until the payment provider reports the result' })

export const TopupHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Retry-safe key, chosen by the client (1–255 characters): the same key and body from the same player return the first response again (with `Idempotent-Replayed: true`); the same key with another body → 422', examples: ['0d6f5a7e-2b1c-4c3d-9e8f-7a6b5c4d3e2f'] })),
  'x-demo-created-at': Type.Optional(Type.String({
    maxLength: 64,
    description: 'Development and demo data only: the order\'s `created_at`, an ISO-8601 date-time with a time zone, not in the future and at most 400 days old. Accepted only by a development installation that allows backdating; refused with 400 in production.',
    examples: ['2026-01-31T18:05:00Z']
  }))
})
