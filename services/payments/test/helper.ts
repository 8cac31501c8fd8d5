import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { OrderCreated, type OrderCreatedEvent } from '@topup/contracts'
import { BrokerConnection, deleteTopology, type Logger } from '@topup/messaging'
import { PLAYER_ID, type Teardown } from '@topup/service-kit/testing'
import { buildTestApp, type TestApp } from '@topup/service/testing'
import { buildApp } from '../src/app.js'
import { loadPaymentsConfig } from '../src/config.js'
import type { TransactionRow } from '../src/db/transactions.js'
import { signPayload } from '../src/signature.js'
import { sampleOrderCreated } from '@topup/contracts/testing'
import { waitFor } from '@topup/service-kit/testing'
export { waitFor }

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789abcdef'
export { PLAYER_ID }

/** A raw amqplib channel (typed without a direct amqplib dependency). */
export type Channel = Awaited<ReturnType<BrokerConnection['createChannel']>>

export interface Harness extends TestApp<Awaited<ReturnType<typeof buildApp>>> {
  /** A channel on the test's own broker connection (not the app's); closed in teardown. */
  channel: () => Promise<Channel>
  /** Queues a test declared: deleted in teardown with the prefix's topology. */
  testQueues: Set<string>
}

const silent: Logger = { debug () {}, info () {}, warn () {}, error () {} }

/**
 * Builds the payments app on a throwaway database and broker prefix
 * (buildTestApp: ready, its consumer subscribed), with a broker connection
 * of the test's own. Teardown (last in, first out): the app closes first,
 * then the prefix's exchanges, the payments queues and any test queue are
 * deleted, then the database.
 */
export async function build (t: Teardown, env: Record<string, string> = {}): Promise<Harness> {
  const testQueues = new Set<string>()
  const channels: Channel[] = []
  const own: { broker?: BrokerConnection } = {}
  // registered first, so it runs after the app has closed
  t.teardown(async () => {
    const broker = own.broker
    if (broker === undefined) return
    const channel = await broker.createChannel()
    for (const queue of testQueues) await channel.deleteQueue(queue)
    await deleteTopology(channel, test.prefix, ['payments'])
    await channel.close()
    for (const c of channels) await c.close().catch(() => {})
    await broker.close()
  })
  const test = await buildTestApp(t, 'payments', async (base, options) =>
    await buildApp(loadPaymentsConfig({ ...base, PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET, ...env }), options))
  // the test's own connection: publishes nothing on the app's behalf, cleans up after it
  const broker = await BrokerConnection.open({ url: test.amqpUrl, prefix: test.prefix, log: silent, connectionName: 'payments-test' })
  own.broker = broker
  await broker.waitUntilConnected(10_000)
  await broker.addSetup(async () => {}) // resolves once the exchanges are declared
  return {
    ...test,
    testQueues,
    async channel () {
      const channel = await broker.createChannel()
      channels.push(channel)
      return channel
    }
  }
}

export function orderCreatedEvent (overrides: Partial<OrderCreatedEvent['data']> = {}): OrderCreatedEvent {
  return sampleOrderCreated({ user_id: PLAYER_ID, ...overrides })
}

/** Publishes raw bytes as an OrderCreated message on the app's own connection. */
export async function publishOrderCreated (harness: Harness, content: Buffer | OrderCreatedEvent, messageId: string = randomUUID()): Promise<void> {
  const isEvent = !Buffer.isBuffer(content)
  await harness.app.messaging.connection.publish(OrderCreated.routingKey, isEvent ? Buffer.from(JSON.stringify(content)) : content, {
    messageId: isEvent ? content.id : messageId,
    type: OrderCreated.type,
    correlationId: isEvent ? content.correlation_id : 'test-poison'
  })
}

/** A pending transaction inserted straight into the database. */
export async function insertPending (harness: Harness, overrides: Partial<TransactionRow> = {}): Promise<TransactionRow> {
  const now = new Date()
  return await harness.app.db.insertInto('transactions').values({
    transaction_id: randomUUID(),
    order_id: randomUUID(),
    user_id: PLAYER_ID,
    amount: '699.00',
    currency: 'INR',
    status: 'pending',
    provider: 'sandbox',
    created_at: now,
    updated_at: now,
    ...overrides
  }).returningAll().executeTakeFirstOrThrow()
}

export interface WebhookCall {
  /** Sign with this secret (default: the app's). */
  secret?: string
  /** Signature timestamp in unix seconds (default: now). */
  timestamp?: number
  /** The signature header as is (overrides signing); null: none at all. */
  signature?: string | null
  /** Sign these bytes instead of the ones sent. */
  signedBody?: string
  headers?: Record<string, string>
}

/** Sends a webhook call with the exact bytes given (an object is JSON-encoded), signed unless told otherwise. */
export async function callWebhook (harness: Harness, body: string | object, call: WebhookCall = {}): Promise<LightMyRequestResponse> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body)
  const signature = call.signature === undefined
    ? signPayload(call.secret ?? WEBHOOK_SECRET, call.signedBody ?? raw, call.timestamp ?? Math.floor(Date.now() / 1000))
    : call.signature
  return await harness.app.inject({
    method: 'POST',
    url: '/api/payment/webhook/',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-topup-signature': signature }), ...call.headers },
    payload: raw
  })
}

export async function findTransaction (harness: Harness, transactionId: string): Promise<TransactionRow | undefined> {
  return await harness.app.db.selectFrom('transactions').selectAll().where('transaction_id', '=', transactionId).executeTakeFirst()
}

export interface PaymentStatusChangedRow {
  event_id: string
  routing_key: string
  correlation_id: string
  payload: { id: string, type: string, version: number, correlation_id: string, data: Record<string, unknown> }
}

export async function outboxEvents (harness: Harness): Promise<PaymentStatusChangedRow[]> {
  const rows = await harness.app.db.selectFrom('outbox').select(['event_id', 'type', 'routing_key', 'correlation_id', 'payload']).orderBy('id').execute()
  return rows.map((row) => ({ ...row, payload: row.payload as PaymentStatusChangedRow['payload'] }))
}

export async function webhookCalls (harness: Harness) {
  return await harness.app.db.selectFrom('webhook_calls').selectAll().orderBy('id').execute()
}
