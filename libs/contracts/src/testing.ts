import { randomUUID } from 'node:crypto'
import { OrderCreated, OrderCreatedV2, type OrderCreatedEvent, type OrderCreatedV2Event } from './events.js'
import { makeEvent } from './validate.js'

/** A valid OrderCreated for tests (the docs/DESIGN.md §2.1 product), fresh ids unless overridden. */
export function sampleOrderCreated (overrides: Partial<OrderCreatedEvent['data']> = {}): OrderCreatedEvent {
  return makeEvent(OrderCreated, {
    order_id: randomUUID(),
    transaction_id: randomUUID(),
    user_id: randomUUID(),
    user_email: 'player@example.com',
    game: { id: 1, code: 'coc123', name: 'clash of clan' },
    product: { id: 4, name: 'UC Pack 500', in_game_currency: 500 },
    amount: '699.00',
    currency: 'INR',
    status: 'pending',
    created_at: new Date().toISOString(),
    ...overrides
  }, { correlationId: `test-${randomUUID()}` })
}

/** A valid OrderCreated v2 (what orders publishes now): in_game_currency as text. */
export function sampleOrderCreatedV2 (overrides: Partial<OrderCreatedV2Event['data']> = {}): OrderCreatedV2Event {
  const v1 = sampleOrderCreated()
  return makeEvent(OrderCreatedV2, {
    ...v1.data,
    product: { id: 4, name: 'UC Pack 500', in_game_currency: '500 UC' },
    ...overrides
  }, { correlationId: v1.correlation_id })
}
