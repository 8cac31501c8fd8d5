import { randomUUID } from 'node:crypto'
import { OrderCreated, type OrderCreatedEvent } from './events.js'
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
