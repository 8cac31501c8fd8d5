import { Type } from 'typebox'

const Uuid = (description: string) => Type.Optional(Type.String({ maxLength: 64, description, examples: ['0b9e1c2a-3f4d-4e5f-8a6b-7c8d9e0f1a2b'] }))

/** Exactly one key; each is checked by the route so a problem names its field. */
export const LookupQuery = Type.Object({
  order_id: Uuid('The order\'s id (a UUID)'),
  transaction_id: Uuid('The payment transaction\'s id (a UUID)'),
  email: Type.Optional(Type.String({ maxLength: 320, description: 'The customer\'s e-mail (any case): their newest orders', examples: ['player@example.com'] }))
})

const Timestamp = Type.String({ format: 'date-time' })
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

const TimelineEntry = Type.Object({
  at: Timestamp,
  kind: Type.Union([Type.Literal('created'), Type.Literal('payment')], { description: 'created: the order was placed; payment: a payment result from the provider. Delivery statuses will be another kind.' }),
  status: Type.String(),
  previous_status: Nullable(Type.String()),
  provider: Nullable(Type.String({ description: 'the payment provider that reported it (null for results recorded before the timeline existed)' })),
  applied: Type.Boolean({ description: 'false: a late, repeated or contradicting result that changed nothing' })
})

export const LookupResponse = Type.Object({
  field: Type.Union([Type.Literal('order_id'), Type.Literal('transaction_id'), Type.Literal('email')]),
  orders: Type.Array(Type.Object({
    order_id: Type.String(),
    transaction_id: Type.String(),
    user_id: Nullable(Type.String()),
    user_email: Nullable(Type.String()),
    game: Nullable(Type.Object({ id: Type.Integer(), code: Nullable(Type.String()), name: Type.String() })),
    product: Nullable(Type.Object({ id: Type.Integer(), name: Type.String() })),
    amount: Nullable(Type.String({ pattern: '^\\d+\\.\\d{2}$' })),
    currency: Nullable(Type.String()),
    status: Type.Union([Type.Literal('pending'), Type.Literal('success'), Type.Literal('failed')]),
    created_at: Nullable(Timestamp),
    settled_at: Nullable(Timestamp),
    timeline: Type.Array(TimelineEntry, { description: 'oldest first' })
  }), { description: 'newest first; at most one for an id, at most 20 for an e-mail. A payment result whose order has not arrived yet has no created entry and null order fields.' }),
  more: Type.Boolean({ description: 'the e-mail has more orders than listed' })
})
