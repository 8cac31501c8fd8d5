/**
 * A stuck payment expires and the whole platform follows (issue 12): payments
 * fails the transaction (reason `expired`) on its own timer, orders moves the
 * order to failed and the dashboard's summary counts it as a failed payment.
 *
 * Payments runs with PAYMENT_EXPIRY_MINUTES=0.1 (6 s; fractions of a minute
 * are allowed outside production for exactly this) and a sweep every second.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { startSystem } from './harness.js'

const STAFF = { STAFF_USERNAME: 'staff_expiry', STAFF_EMAIL: 'staff_expiry@topup.test', STAFF_PASSWORD: 'Staff-Passw0rd-Expiry' }

interface Summary {
  totals: { orders: number, successful_orders: number, failed_orders: number, pending_orders: number, revenue: string }
  failed_payments: { this_month: { month: string, count: number } }
}

t.test('an unpaid order expires: failed at payments, orders and analytics; a late success is refused', async (t) => {
  const system = await startSystem(t, { env: { auth: STAFF, payments: { PAYMENT_EXPIRY_MINUTES: '0.1', PAYMENT_EXPIRY_SWEEP_SECONDS: '1' } } })
  const { http } = system
  const payments = system.payments[0]
  const analyticsDb = system.analytics?.db
  if (payments === undefined || analyticsDb === undefined) throw new Error('payments and analytics must be running')
  const staff = (await http<{ access: string }>('POST', '/api/token/', { body: { username: STAFF.STAFF_USERNAME, password: STAFF.STAFF_PASSWORD } })).body.access

  const player = await system.register(`late_${randomBytes(4).toString('hex')}`)
  const { access } = await system.login(player.username)
  const paid = await system.topup(access)
  const unpaid = await system.topup(access)
  t.equal(paid.status, 201)
  t.equal(unpaid.status, 201)
  const atPayments = async (transactionId: string) => await payments.db.selectFrom('transactions').select(['status', 'failure_reason']).where('transaction_id', '=', transactionId).executeTakeFirst()
  await system.waitFor(async () => await atPayments(paid.body.transaction_id), { what: 'the paid order\'s transaction at payments' })
  t.equal((await system.pay(paid.body.transaction_id, 'success')).status, 200, 'paid within the window')

  // the unpaid one: pending until its window (6 s) ends, then the timer fails it
  t.match(await atPayments(unpaid.body.transaction_id), { status: 'pending' }, 'pending while its window runs')
  const expired = await system.waitFor(async () => {
    const row = await atPayments(unpaid.body.transaction_id)
    return row?.status === 'failed' ? row : undefined
  }, { timeoutMs: 20_000, intervalMs: 200, what: 'the sweep to expire the unpaid transaction' })
  t.same(expired, { status: 'failed', failure_reason: 'expired' })
  t.match(await atPayments(paid.body.transaction_id), { status: 'success', failure_reason: null }, 'the paid one is untouched')
  const line = payments.logs.entries().find((e) => e.msg === 'pending payment expired')
  // the expiry joins the order's trace: its correlation id is the top-up request's id
  t.match(line, { transactionId: unpaid.body.transaction_id, orderId: unpaid.body.order_id, correlation_id: unpaid.headers.get('x-request-id') }, 'one log line names it, with the order\'s trace')

  // orders follows the event
  const order = await system.waitFor(async () => {
    const res = await http<{ status: string }>('GET', `/api/orders/${unpaid.body.order_id}`, { token: access })
    return res.body.status === 'failed' ? res : undefined
  }, { timeoutMs: 15_000, what: 'orders to fail the order' })
  t.equal(order.status, 200)
  t.equal((await http<{ status: string }>('GET', `/api/orders/${paid.body.order_id}`, { token: access })).body.status, 'success')

  // and so does the dashboard: the expired payment is a failed one
  const today = new Date().toISOString().slice(0, 10)
  const summaryOf = async () => await http<Summary>('GET', `/api/analytics/summary/?start_date=${today}&end_date=${today}`, { token: staff })
  // on a timeout the last answer is what the assertions below look at (and print)
  const summary = await system.waitFor(async () => {
    const res = await summaryOf()
    return res.status === 200 && res.body.totals.failed_orders === 1 && res.body.totals.successful_orders === 1 ? res : undefined
  }, { timeoutMs: 15_000, what: 'the summary to count the expired payment as failed' }).catch(async () => await summaryOf())
  t.equal(summary.status, 200, summary.text)
  t.match(summary.body.totals, { orders: 2, successful_orders: 1, failed_orders: 1, pending_orders: 0, revenue: '699.00' })
  t.equal(summary.body.failed_payments.this_month.count, 1, 'failed payments this month')
  t.match(await analyticsDb.selectFrom('order_facts').select('status').where('order_id', '=', unpaid.body.order_id).executeTakeFirst(), { status: 'failed' })

  // the provider reports success too late: refused, nothing changes anywhere
  const late = await system.pay(unpaid.body.transaction_id, 'success')
  t.equal(late.status, 409, late.text)
  t.equal(late.body.message, 'Transaction is already failed.')
  t.same(await atPayments(unpaid.body.transaction_id), { status: 'failed', failure_reason: 'expired' })
  const events = await payments.db.selectFrom('outbox').select('payload').execute()
  t.equal(events.filter((e) => (e.payload as { data: { transaction_id: string } }).data.transaction_id === unpaid.body.transaction_id).length, 1, 'one PaymentStatusChanged for it, the expiry\'s')
  t.equal((await http<{ status: string }>('GET', `/api/orders/${unpaid.body.order_id}`, { token: access })).body.status, 'failed')
})
