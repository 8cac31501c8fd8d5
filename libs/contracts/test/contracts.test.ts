import t from 'tap'
import {
  OrderCreated, OrderCreatedV2, PaymentStatusChanged, contracts, contractFor, contractForRoutingKey, makeEvent, validateEvent,
  EventValidationError, type DataOf, type OrderCreatedEvent, type Problem
} from '../src/index.js'
import { sampleOrderCreatedV2 } from '../src/testing.js'

const orderData: DataOf<typeof OrderCreated> = {
  order_id: '2b1f6a3e-5c4d-4e8f-9a0b-1c2d3e4f5a6b',
  transaction_id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  user_id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  user_email: 'player@example.com',
  game: { id: 1, code: 'coc123', name: 'clash of clan' },
  product: { id: 4, name: 'UC Pack 500', in_game_currency: 500 },
  amount: '699.00',
  currency: 'INR',
  status: 'pending',
  created_at: '2026-11-25T09:00:00.000Z'
}

const paymentData: DataOf<typeof PaymentStatusChanged> = {
  transaction_id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  order_id: '2b1f6a3e-5c4d-4e8f-9a0b-1c2d3e4f5a6b',
  status: 'success',
  previous_status: 'pending',
  amount: '699.00',
  currency: 'INR',
  provider: 'mockpay',
  changed_at: '2026-11-25T09:01:00.000Z'
}

function problemsOf (target: Parameters<typeof validateEvent>[0], value: unknown, strict = false): Problem[] {
  const result = validateEvent(target as string, value, { strict })
  return result.ok ? [] : result.problems
}

function withData (patch: Record<string, unknown>): Record<string, unknown> {
  const event = makeEvent(OrderCreated, orderData, { correlationId: 'req-1' })
  return { ...event, data: { ...event.data, ...patch } }
}

t.test('the registry names each contract once, by routing key and by type + version', async (t) => {
  t.same(contracts.map((c) => [c.type, c.version, c.routingKey]), [
    ['OrderCreated', 1, 'orders.order-created.v1'],
    ['OrderCreated', 2, 'orders.order-created.v2'],
    ['PaymentStatusChanged', 1, 'payments.payment-status-changed.v1']
  ])
  t.equal(contractFor('OrderCreated', 2), OrderCreatedV2)
  t.equal(contractForRoutingKey('orders.order-created.v1'), OrderCreated)
  t.equal(contractFor('PaymentStatusChanged', 1), PaymentStatusChanged)
  t.equal(contractFor('PaymentStatusChanged', 2), undefined)
})

t.test('makeEvent fills id, time and correlation id; valid events pass', async (t) => {
  const event: OrderCreatedEvent = makeEvent(OrderCreated, orderData, { correlationId: 'req-1' })
  t.match(event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(event.type, 'OrderCreated')
  t.equal(event.version, 1)
  t.equal(event.correlation_id, 'req-1')
  t.ok(Math.abs(Date.parse(event.occurred_at) - Date.now()) < 5000)
  t.not(makeEvent(OrderCreated, orderData, { correlationId: 'x' }).id, event.id, 'a new id each time')

  const byContract = validateEvent(OrderCreated, JSON.parse(JSON.stringify(event)))
  t.ok(byContract.ok)
  if (byContract.ok) t.equal(byContract.event.data.game.code, 'coc123')
  t.ok(validateEvent('orders.order-created.v1', event).ok, 'by routing key')
  const payment = makeEvent(PaymentStatusChanged, paymentData, { correlationId: 'c', id: '11111111-2222-4333-8444-555555555555', occurredAt: new Date(0) })
  t.equal(payment.id, '11111111-2222-4333-8444-555555555555')
  t.equal(payment.occurred_at, '1970-01-01T00:00:00.000Z')
  t.ok(validateEvent(PaymentStatusChanged, payment).ok)
  t.ok(validateEvent(PaymentStatusChanged, { ...payment, data: { ...paymentData, status: 'failed' } }).ok)
})

t.test('makeEvent refuses invalid data with every problem and its path', async (t) => {
  const bad = { ...orderData, amount: 699 } as unknown as DataOf<typeof OrderCreated>
  const err = t.throws(() => makeEvent(OrderCreated, bad, { correlationId: 'c' }))
  t.ok(err instanceof EventValidationError)
  if (err instanceof EventValidationError) t.same(err.problems.map((p) => p.path), ['/data/amount'])
  t.match((err as Error).message, /\/data\/amount/)
})

t.test('each kind of bad field fails, with its path', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['money as a number', { amount: 699 }, '/data/amount'],
    ['money with one place', { amount: '699.0' }, '/data/amount'],
    ['money without places', { amount: '699' }, '/data/amount'],
    ['negative money', { amount: '-1.00' }, '/data/amount'],
    ['lower-case currency', { currency: 'inr' }, '/data/currency'],
    ['currency of 4 letters', { currency: 'INRR' }, '/data/currency'],
    ['transaction id not a uuid', { transaction_id: 'abc' }, '/data/transaction_id'],
    ['order id not a uuid', { order_id: '12' }, '/data/order_id'],
    ['user id missing', { user_id: undefined }, '/data'],
    ['status not pending', { status: 'success' }, '/data/status'],
    ['game id a string', { game: { id: '1', code: 'c', name: 'n' } }, '/data/game/id'],
    ['product without currency amount', { product: { id: 4, name: 'p' } }, '/data/product'],
    ['created_at not a date-time', { created_at: 'yesterday' }, '/data/created_at'],
    ['email without @', { user_email: 'player' }, '/data/user_email']
  ]
  for (const [name, patch, path] of cases) {
    const value = withData(patch)
    if ('user_id' in patch) delete (value.data as Record<string, unknown>).user_id
    const problems = problemsOf(OrderCreated as never, value)
    t.ok(problems.some((p) => p.path === path), `${name} → ${path}`, { problems })
    for (const p of problems) t.type(p.message, 'string')
  }
})

t.test('envelope problems have their paths too', async (t) => {
  const event = makeEvent(OrderCreated, orderData, { correlationId: 'c' })
  const cases: Array<[string, unknown, string]> = [
    ['id not a uuid', { ...event, id: 'x' }, '/id'],
    ['wrong type', { ...event, type: 'PaymentStatusChanged' }, '/type'],
    ['wrong version', { ...event, version: 2 }, '/version'],
    ['occurred_at not ISO', { ...event, occurred_at: 'Tue, 25 Nov 2026' }, '/occurred_at'],
    ['empty correlation id', { ...event, correlation_id: '' }, '/correlation_id'],
    ['no data', { ...event, data: undefined }, '']
  ]
  for (const [name, value, path] of cases) {
    const problems = problemsOf(OrderCreated as never, JSON.parse(JSON.stringify(value)))
    t.ok(problems.some((p) => p.path === path), `${name} → ${path}`, { problems })
  }
  t.ok(problemsOf(OrderCreated as never, 'not an object').length > 0, 'a string')
  t.ok(problemsOf(OrderCreated as never, null).length > 0, 'null')
})

t.test('payment status changes: statuses and previous status', async (t) => {
  const event = makeEvent(PaymentStatusChanged, paymentData, { correlationId: 'c' })
  t.ok(problemsOf(PaymentStatusChanged as never, { ...event, data: { ...paymentData, status: 'pending' } }).some((p) => p.path === '/data/status'))
  t.ok(problemsOf(PaymentStatusChanged as never, { ...event, data: { ...paymentData, previous_status: 'refunded' } }).some((p) => p.path === '/data/previous_status'))
  t.ok(problemsOf(PaymentStatusChanged as never, { ...event, data: { ...paymentData, provider: '' } }).some((p) => p.path === '/data/provider'))
})

t.test('an unknown routing key is a problem, not an exception', async (t) => {
  t.same(problemsOf('orders.order-cancelled.v1', {}), [{ path: '', message: 'no contract for routing key "orders.order-cancelled.v1"' }])
})

t.test('consumers are tolerant readers, producers strict', async (t) => {
  const value = withData({ coupon: 'X' })
  t.ok(validateEvent(OrderCreated, value).ok, 'an added field does not break a consumer')
  t.same(problemsOf(OrderCreated as never, value, true), [{ path: '/data/coupon', message: 'is not a property of this contract' }])
  t.same(problemsOf(OrderCreated as never, { ...withData({}), extra: 1 }, true).map((p) => p.path), ['/extra'])
  t.throws(() => makeEvent(OrderCreated, { ...orderData, game: { ...orderData.game, extra: true } } as DataOf<typeof OrderCreated>, { correlationId: 'c' }), EventValidationError)
})

t.test('OrderCreated v2 carries in_game_currency as text; v1 keeps its integer (a changed type is a new version)', async (t) => {
  const v2 = sampleOrderCreatedV2()
  t.ok(validateEvent(OrderCreatedV2, v2, { strict: true }).ok, 'the v2 sample is valid')
  t.equal(v2.data.product.in_game_currency, '500 UC')
  const asV1 = { ...v2, version: 1 }
  t.notOk(validateEvent(OrderCreated, asV1).ok, 'a v1 consumer would refuse the text')
  const numberInV2 = { ...v2, data: { ...v2.data, product: { ...v2.data.product, in_game_currency: 500 } } }
  t.match(validateEvent(OrderCreatedV2, numberInV2), { ok: false, problems: [{ path: '/data/product/in_game_currency' }] })
})
