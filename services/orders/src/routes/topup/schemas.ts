import { Type } from 'typebox'

export const TopupBody = Type.Object({
  gamename: Type.String({ minLength: 1, maxLength: 100 }),
  game_id: Type.String({ minLength: 1, maxLength: 50 }),
  product_name: Type.String({ minLength: 1, maxLength: 100 }),
  product_id: Type.Integer({ minimum: 1, maximum: 2147483647 }),
  product_price: Type.Union([
    Type.String({ pattern: '^\\s*\\d{1,12}(\\.\\d{1,12})?\\s*$', maxLength: 40 }),
    Type.Number({ minimum: 0 })
  ], { description: 'The price the client saw, as a JSON number or a decimal string; compared exactly' })
}, {
  additionalProperties: false,
  examples: [{ gamename: 'clash of clan', game_id: 'coc123', product_name: 'UC Pack 500', product_id: 4, product_price: '699.00' }]
})

export const TopupCreated = Type.Object({
  message: Type.Literal('Top-up order created successfully.'),
  order_id: Type.String({ format: 'uuid' }),
  transaction_id: Type.String({ format: 'uuid' }),
  status: Type.Literal('pending')
})

export const TopupHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Retry-safe key: the same key and body return the first response again' }))
})
