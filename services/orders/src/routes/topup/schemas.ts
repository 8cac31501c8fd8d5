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
  gamename: Type.String({ minLength: 1, maxLength: 100, description: 'Surrounding spaces are ignored; matched regardless of case' }),
  game_id: Type.String({ minLength: 1, maxLength: 50, description: 'Surrounding spaces are ignored' }),
  product_name: Type.String({ minLength: 1, maxLength: 100, description: 'Surrounding spaces are ignored' }),
  product_id: Type.Integer({ minimum: 1, maximum: 2147483647 }),
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
  order_id: Type.String({ format: 'uuid' }),
  transaction_id: Type.String({ format: 'uuid' }),
  status: Type.Literal('pending')
})

export const TopupHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Retry-safe key: the same key and body return the first response again' })),
  'x-demo-created-at': Type.Optional(Type.String({
    maxLength: 64,
    description: 'Development only (`npm run demo`): the order\'s `created_at`, an ISO-8601 date-time with a time zone, not in the future and at most 400 days old. Honoured only where the orders service allows backdating (DEMO_BACKDATING, on by default in development); refused with 400 in production.',
    examples: ['2026-01-31T18:05:00Z']
  }))
})
