import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { rabbitUrl } from '@topup/service-kit/testing'
import { demoTopup, startSystem, type System } from './harness.js'
import { brokerProxy } from './tcp-proxy.js'

interface OrderView { order_id: string, transaction_id: string, status: string, amount: string, game: { code: string }, product: { id: number, name: string } }
interface GameView { id: number, name: string, game_id: string, is_active: boolean, products: Array<{ id: number, name: string, price: string, in_game_currency: string }> }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

async function orderStatus (system: System, token: string, orderId: string): Promise<string> {
  const res = await system.http<OrderView>('GET', `/api/orders/${orderId}`, { token })
  if (res.status !== 200) throw new Error(`GET /api/orders/${orderId}: ${res.status} ${res.text}`)
  return res.body.status
}

async function transactionOf (system: System, transactionId: string): Promise<{ status: string, order_id: string, amount: string } | undefined> {
  const db = system.payments[0]?.db
  if (db === undefined) throw new Error('no payments instance')
  return await db.selectFrom('transactions').select(['status', 'order_id', 'amount']).where('transaction_id', '=', transactionId).executeTakeFirst()
}

t.test('a top-up order follows its payment, through the gateway and the broker', async (t) => {
  // payments' broker connection goes through a proxy this test owns (for the "webhook too early" story)
  const proxy = await brokerProxy(t, await rabbitUrl())
  const system = await startSystem(t, { amqpUrl: { payments: proxy.url } })
  const { http } = system
  const player = await system.register(`buyer_${randomBytes(4).toString('hex')}`)
  const { access } = await system.login(player.username)

  // the catalog: the demo product of docs/DESIGN.md §2.1
  const games = await http<GameView[]>('GET', '/api/games/')
  t.equal(games.status, 200)
  const coc = games.body.find((g) => g.name === 'clash of clan')
  t.match(coc, { game_id: 'coc123', is_active: true }, 'the demo game is listed')
  const product = coc?.products.find((p) => p.name === 'UC Pack 500')
  t.match(product, { id: demoTopup.product_id, price: '699.00', in_game_currency: '500' }, 'with the demo product')
  t.equal((await http<GameView[]>('GET', '/api/games')).status, 200, 'GET /api/games works without the slash too')

  async function settleStory (status: 'success' | 'failed'): Promise<number> {
    const placed = await system.topup(access, { ...demoTopup, product_price: 699 })
    t.equal(placed.status, 201, 'POST /api/topup/ → 201')
    t.match(placed.body, { message: 'Top-up order created successfully.', status: 'pending' })
    t.match(placed.body.order_id, UUID)
    t.match(placed.body.transaction_id, UUID)
    const { order_id: orderId, transaction_id: transactionId } = placed.body

    const tx = await system.waitFor(() => transactionOf(system, transactionId), { what: 'the transaction at payments' })
    t.same(tx, { status: 'pending', order_id: orderId, amount: '699.00' }, 'payments opened the pending transaction')
    t.equal(await orderStatus(system, access, orderId), 'pending', 'the order is pending until the payment is known')

    const paid = await system.pay(transactionId, status)
    t.equal(paid.status, 200, `signed webhook (${status}) through the gateway → 200`)
    t.same(paid.body, { transaction_id: transactionId, status, changed: true })
    const started = Date.now()
    await system.waitFor(async () => (await orderStatus(system, access, orderId)) === status, { timeoutMs: 10_000, intervalMs: 10, what: `order ${orderId} to become ${status}` })
    const latency = Date.now() - started
    t.equal((await transactionOf(system, transactionId))?.status, status, 'the transaction is settled at payments')

    const again = await system.pay(transactionId, status)
    t.equal(again.status, 200, 'the same status again → 200')
    t.match(again.body, { changed: false }, 'and nothing changes')
    const other = await system.pay(transactionId, status === 'success' ? 'failed' : 'success')
    t.equal(other.status, 409, 'the other terminal status → 409')
    t.equal(await orderStatus(system, access, orderId), status, 'the order keeps its status')
    return latency
  }

  const successMs = await settleStory('success')
  const failedMs = await settleStory('failed')
  t.comment(`order settle latency (webhook answered → order shows it through the gateway): success ${successMs} ms, failed ${failedMs} ms`)
  t.ok(successMs < 1000, `success settled in ${successMs} ms (< 1 s)`)
  t.ok(failedMs < 1000, `failure settled in ${failedMs} ms (< 1 s)`)

  await t.test('a webhook before payments knows the transaction → 404; a retry later works', async (t) => {
    t.equal((await system.pay(randomUUID(), 'success')).status, 404, 'an unknown transaction → 404')

    // payments is cut off from the broker: the order is placed, its OrderCreated waits in payments' queue
    proxy.cut()
    await system.waitFor(() => system.payments[0]?.app.messaging.isConnected() === false, { what: 'payments to lose the broker' })
    const placed = await system.topup(access)
    t.equal(placed.status, 201, 'the order is accepted')
    const early = await system.pay(placed.body.transaction_id, 'success')
    t.equal(early.status, 404, 'the webhook arrives first → 404')
    t.match(early.body, { statusCode: 404, error: String, message: String })
    t.equal(await transactionOf(system, placed.body.transaction_id), undefined, 'payments does not know it yet')

    proxy.restore()
    await system.waitFor(() => transactionOf(system, placed.body.transaction_id), { timeoutMs: 15_000, what: 'the transaction after the broker is back' })
    const retry = await system.pay(placed.body.transaction_id, 'success')
    t.equal(retry.status, 200, 'the retry → 200')
    await system.waitFor(async () => (await orderStatus(system, access, placed.body.order_id)) === 'success', { what: 'the order to succeed' })
    t.pass('the order follows')

    const audit = await system.payments[0]?.db.selectFrom('webhook_calls').select(['response_status', 'signature_valid'])
      .where('transaction_id', '=', placed.body.transaction_id).orderBy('id').execute()
    t.same(audit, [{ response_status: 404, signature_valid: true }, { response_status: 200, signature_valid: true }], 'both calls are in the audit')
  })

  await t.test('the webhook wants the signature, not a player\'s token', async (t) => {
    const placed = await system.topup(access)
    t.equal(placed.status, 201)
    const transactionId = placed.body.transaction_id
    await system.waitFor(() => transactionOf(system, transactionId), { what: 'the transaction' })

    const withJwt = await http('POST', '/api/payment/webhook/', { token: access, body: { transaction_id: transactionId, status: 'success' } })
    t.equal(withJwt.status, 401, "a player's JWT instead of a signature → 401")
    t.match(withJwt.body, { statusCode: 401, error: String, message: String })
    const wrongSecret = await system.pay(transactionId, 'success', { secret: `not-the-secret-${randomBytes(8).toString('hex')}` })
    t.equal(wrongSecret.status, 401, 'signed with another secret → 401')
    const unsigned = await http('POST', '/api/payment/webhook', { body: { transaction_id: transactionId, status: 'success' } })
    t.equal(unsigned.status, 401, 'no signature (path without the slash) → 401')
    t.equal((await transactionOf(system, transactionId))?.status, 'pending', 'the transaction did not move')
    t.equal(await orderStatus(system, access, placed.body.order_id), 'pending', 'nor did the order')
  })

  const list = await http<{ results: OrderView[] }>('GET', '/api/orders/', { token: access })
  t.equal(list.status, 200)
  t.same(list.body.results.map((o) => o.status), ['pending', 'success', 'failed', 'success'], 'the player\'s orders, newest first')
})
