/**
 * OWASP API6:2023 Unrestricted Access to Sensitive Business Flows. Buying is
 * the flow that moves money: the price a client sends must be the catalog's,
 * exactly (no cheaper price, no other product's price, no float or parser
 * tricks); an Idempotency-Key replay creates nothing new and a changed body
 * under the same key is a 422, per player; and one player cannot place
 * orders without limit (429), while retrying an order already placed is never
 * refused.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { demoTopup } from '../system/harness.js'
import { startPlatform, type Player } from './helpers.js'

const PER_USER = 6

/** The docs/DESIGN.md §2.1 request with `product_price` (or another field) written as raw JSON text. */
function withRaw (field: string, json: string, base: Record<string, unknown> = demoTopup): string {
  return JSON.stringify({ ...base, [field]: '__RAW__' }).replace('"__RAW__"', json)
}

t.test('API6 sensitive business flows', async (t) => {
  const platform = await startPlatform(t, { env: { orders: { ORDER_MAX_PER_USER: String(PER_USER), ORDER_WINDOW: '1 minute' } } })
  const ordersDb = platform.orders[0]?.db
  if (ordersDb === undefined) throw new Error('orders is running')
  const ordersOf = async (who: Player): Promise<Array<{ id: string, amount: string, product_id: number }>> =>
    await ordersDb.selectFrom('orders').select(['id', 'amount', 'product_id']).where('user_id', '=', who.id).execute()

  await t.test('the catalog price, spelled as DESIGN allows, buys the product', async (t) => {
    for (const price of ['"699.00"', '"699"', '699', '699.0', '699.00']) {
      const who = await platform.player('honest')
      const res = await platform.http('POST', '/api/topup/', { token: who.access, body: withRaw('product_price', price) })
      t.equal(res.status, 201, `product_price ${price} → 201`)
      t.same((await ordersOf(who)).map((o) => o.amount), ['699.00'], 'one order at the catalog price')
    }
  })

  await t.test('tampered prices and products never create an order', async (t) => {
    const tampered: Record<string, [string, string]> = {
      'a lower price': ['product_price', '"1.00"'],
      'zero': ['product_price', '"0.00"'],
      'zero as a number': ['product_price', '0'],
      'one paisa': ['product_price', '"0.01"'],
      'a paisa less': ['product_price', '"698.99"'],
      'a paisa less, as a number': ['product_price', '698.99'],
      'another product\'s price': ['product_price', '"99.00"'],
      'negative': ['product_price', '"-699.00"'],
      'negative number': ['product_price', '-699'],
      'a float that rounds to 699': ['product_price', '698.9999999999999999'],
      'the same as a string': ['product_price', '"698.9999999999999999"'],
      'a float just above': ['product_price', '699.0000000000001'],
      'many decimals': ['product_price', '"699.0000000000000001"'],
      'an exponent that rounds to 699': ['product_price', '6.989999999999999999e2'],
      'hexadecimal': ['product_price', '"0x2BB"'],
      'binary': ['product_price', '"0b1010111011"'],
      'sign and spaces': ['product_price', '" +699 "'],
      'a plus sign': ['product_price', '"+699"'],
      'a trailing dot': ['product_price', '"699."'],
      'a trailing space': ['product_price', '"699.00 "'],
      'a comma': ['product_price', '"699,00"'],
      'full-width digits': ['product_price', '"６９９"'],
      'a NUL after it': ['product_price', '"699\\u0000"'],
      'Infinity': ['product_price', '"Infinity"'],
      'NaN': ['product_price', '"NaN"'],
      'a number too large for a double': ['product_price', '1e400'],
      'nested arrays': ['product_price', '[[699]]'],
      'an array': ['product_price', '["699.00"]'],
      'an operator object': ['product_price', '{"$gt":0}'],
      'true': ['product_price', 'true'],
      'null': ['product_price', 'null'],
      'product id as a string': ['product_id', '"4"'],
      'product id in hex': ['product_id', '"0x4"'],
      'product id with a fraction': ['product_id', '4.5'],
      'product id in an array': ['product_id', '[4]'],
      'another product\'s id': ['product_id', '1'],
      'another game\'s product': ['product_id', '5'],
      'another product\'s name': ['product_name', '"Gem Pouch 80"']
    }
    // every request counts against ORDER_MAX_PER_USER: a new player after every few
    let current: Player | undefined
    let used = 0
    const tamperer = async (): Promise<Player> => {
      if (current === undefined || used === PER_USER) { current = await platform.player('tamper'); used = 0 }
      used++
      return current
    }
    for (const [what, [field, json]] of Object.entries(tampered)) {
      for (const [via, baseUrl] of [['gateway', platform.url], ['direct', platform.direct.orders]] as const) {
        const who = await tamperer()
        const res = await platform.http('POST', '/api/topup/', { token: who.access, body: withRaw(field, json), baseUrl })
        t.equal(res.status, 400, `${what} (${field}: ${json}) → 400 (${via})`)
        t.same(await ordersOf(who), [], 'no order')
      }
    }
    // the cheapest product under the dearest's name, and the reverse
    const who = await platform.player('swap')
    const swapped = await platform.http('POST', '/api/topup/', { token: who.access, body: { ...demoTopup, product_id: 1, product_price: '99.00' } })
    t.equal(swapped.status, 400, 'product 1\'s id and price under product 4\'s name → 400')
    t.same(await ordersOf(who), [])
  })

  await t.test('Idempotency-Key: a replay creates nothing, a changed body is a 422, keys are per player', async (t) => {
    const alice = await platform.player('idem')
    const key = `order-${randomUUID()}`
    const send = async (who: Player, body: unknown, k = key) => await platform.http<{ order_id: string }>('POST', '/api/topup/', { token: who.access, body, headers: { 'idempotency-key': k } })
    const first = await send(alice, demoTopup)
    t.equal(first.status, 201, 'first → 201')
    const again = await send(alice, demoTopup)
    t.equal(again.status, 201, 'the same request again → 201')
    t.equal(again.body.order_id, first.body.order_id, 'the same order')
    t.equal(again.headers.get('idempotent-replayed'), 'true', 'marked as a replay')
    const respelled = await send(alice, withRaw('product_price', '699'))
    t.equal(respelled.status, 201, 'the same price spelled 699 is the same request')
    t.equal(respelled.body.order_id, first.body.order_id)
    for (const [what, body] of Object.entries({
      'another product': { ...demoTopup, product_id: 1, product_name: 'Gem Pouch 80', product_price: '99.00' },
      'a lower price': { ...demoTopup, product_price: '1.00' },
      'another game id': { ...demoTopup, game_id: 'pubgm' }
    })) {
      const changed = await send(alice, body)
      t.equal(changed.status, 422, `${what} under the same key → 422`)
    }
    t.equal((await ordersOf(alice)).length, 1, 'alice has exactly one order')

    const bob = await platform.player('idem')
    const bobs = await send(bob, demoTopup)
    t.equal(bobs.status, 201, 'bob with alice\'s key → 201')
    t.not(bobs.body.order_id, first.body.order_id, 'his own new order, not alice\'s response')
    t.same((await ordersOf(bob)).map((o) => o.id), [bobs.body.order_id])

    // a burst of one request with one key: exactly one order
    const carol = await platform.player('burst')
    const burstKey = `burst-${randomUUID()}`
    const burst = await Promise.all(Array.from({ length: 5 }, async () => await send(carol, demoTopup, burstKey)))
    t.same(burst.map((r) => r.status), [201, 201, 201, 201, 201], '5 concurrent requests with one key → 201 each')
    t.equal(new Set(burst.map((r) => r.body.order_id)).size, 1, 'all the same order')
    t.equal((await ordersOf(carol)).length, 1, 'one order in the database')
  })

  await t.test('one player cannot place orders without limit; retrying a placed order is never refused', async (t) => {
    for (const [via, baseUrl] of [['gateway', platform.url], ['direct', platform.direct.orders]] as const) {
      const who = await platform.player('greedy')
      const key = `first-${randomUUID()}`
      const statuses: number[] = []
      for (let i = 0; i < PER_USER + 2; i++) {
        const res = await platform.http('POST', '/api/topup/', { token: who.access, body: demoTopup, baseUrl, headers: i === 0 ? { 'idempotency-key': key } : {} })
        statuses.push(res.status)
        if (i === PER_USER) t.match(res.headers.get('retry-after'), /^[1-9]\d*$/, `Retry-After: ${String(res.headers.get('retry-after'))}`)
      }
      t.same(statuses, [...Array<number>(PER_USER).fill(201), 429, 429], `${PER_USER} orders, then 429 (${via})`)
      t.equal((await ordersOf(who)).length, PER_USER, `${PER_USER} orders in the database`)
      const retry = await platform.http('POST', '/api/topup/', { token: who.access, body: demoTopup, baseUrl, headers: { 'idempotency-key': key } })
      t.equal(retry.status, 201, 'the retry of the first order (its key) still gets its answer')
      t.equal((await ordersOf(who)).length, PER_USER, 'and creates nothing')
    }
  })

  await t.test('nothing reached payments for the refused orders', async (t) => {
    const placed = await ordersDb.selectFrom('orders').select('transaction_id').execute()
    const transactions = await platform.waitFor(async () => {
      const rows = await platform.payments[0]?.db.selectFrom('transactions').select('transaction_id').execute() ?? []
      return rows.length >= placed.length ? rows : undefined
    }, { what: 'every order at payments' })
    t.same(transactions.map((r) => r.transaction_id).sort(), placed.map((r) => r.transaction_id).sort(), `payments has exactly the ${placed.length} orders placed`)
    const amounts = await platform.payments[0]?.db.selectFrom('transactions').select('amount').distinct().execute()
    t.same(amounts?.map((a) => a.amount), ['699.00'], 'every one at the catalog price')
  })
})
