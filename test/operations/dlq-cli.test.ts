/**
 * `npm run dlq` as an operator runs it, against the real broker: a message in
 * a service's dead-letter queue is listed (as a table and as JSON) with why
 * it is there, replayed by its event id back to the service's queue under its
 * original routing key, and a wrong id or service is said so, exit code 1.
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import t from 'tap'
import amqplib from 'amqplib'
import { OrderCreated } from '@topup/contracts'
import { sampleOrderCreated } from '@topup/contracts/testing'
import { deadLetterHeaders, declareTopology, deleteTopologyAt, serviceQueueNames, topologyNames } from '@topup/messaging'
import { rabbitUrl, uniqueName } from '@topup/service-kit/testing'
import { ROOT } from '../../scripts/common/paths.js'

const run = promisify(execFile)

t.test('npm run dlq', async (t) => {
  const AMQP_URL = await rabbitUrl()
  const prefix = `${uniqueName('dlq')}.`
  const service = 'payments'
  const connection = await amqplib.connect(AMQP_URL)
  const channel = await connection.createConfirmChannel()
  t.teardown(async () => {
    await connection.close()
    await deleteTopologyAt(AMQP_URL, prefix, [service])
  })
  await declareTopology(channel, { prefix, service, bindings: [OrderCreated.routingKey] })
  const { queue, deadLetterQueue } = serviceQueueNames(prefix, service)
  const { deadLetterExchange } = topologyNames(prefix)
  const event = sampleOrderCreated()
  const deadLetteredAt = '2026-12-01T10:00:00.000Z'
  channel.publish(deadLetterExchange, service, Buffer.from(JSON.stringify(event)), {
    messageId: event.id,
    type: event.type,
    correlationId: event.correlation_id,
    persistent: true,
    headers: deadLetterHeaders({}, { routingKey: OrderCreated.routingKey, cause: 'delivery_limit', reason: 'the handler failed 6 times; last: deadlock detected', deliveries: 6, at: deadLetteredAt })
  })
  await channel.waitForConfirms()

  const dlq = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => {
    try {
      const { stdout, stderr } = await run('npm', ['run', '--silent', 'dlq', '--', ...args], { cwd: ROOT, env: { ...process.env, AMQP_URL, BROKER_PREFIX: prefix } })
      return { code: 0, stdout, stderr }
    } catch (err) {
      const failed = err as { code: number, stdout: string, stderr: string }
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
    }
  }

  await t.test('list: a table an operator reads, and JSON for a script', async (t) => {
    const table = await dlq('list', service)
    t.equal(table.code, 0, table.stderr)
    t.match(table.stdout, `${deadLetterQueue}: 1 message`)
    t.match(table.stdout, /type\s+event id\s+cause\s+deliveries\s+first seen\s+times\s+reason/)
    t.match(table.stdout, new RegExp(`OrderCreated\\s+${event.id}\\s+delivery_limit\\s+6\\s+${deadLetteredAt.replace(/\./g, '\\.')}\\s+1\\s+the handler failed 6 times; last: deadlock detected`))
    const json = await dlq('list', service, '--json')
    t.same(JSON.parse(json.stdout), [{
      eventId: event.id, type: 'OrderCreated', correlationId: event.correlation_id, routingKey: OrderCreated.routingKey,
      cause: 'delivery_limit', reason: 'the handler failed 6 times; last: deadlock detected', deliveries: 6, firstSeen: deadLetteredAt, timesDeadLettered: 1
    }])
    t.equal((await channel.checkQueue(deadLetterQueue)).messageCount, 1, 'listing left it there')
  })

  await t.test('mistakes are said plainly, exit 1', async (t) => {
    const unknownService = await dlq('list', 'gateway')
    t.equal(unknownService.code, 1)
    t.match(unknownService.stderr, 'name a service with a dead-letter queue: orders, payments, analytics')
    const neither = await dlq('replay', service)
    t.equal(neither.code, 1)
    t.match(neither.stderr, 'replay takes event ids or --all')
    const absent = await dlq('replay', service, randomUUID())
    t.equal(absent.code, 1, 'an id that is not there')
    t.match(absent.stdout, /replayed 0 .*not in the queue: [0-9a-f-]{36}/s)
    const otherBroker = await run('npm', ['run', '--silent', 'dlq', '--', 'list', 'analytics'], { cwd: ROOT, env: { ...process.env, AMQP_URL, BROKER_PREFIX: `${uniqueName('none')}.` } }).catch((err: { code: number, stderr: string }) => err)
    t.match(otherBroker, { code: 1, stderr: /there is no queue .*analytics\.events\.dlq on this broker/ })
  })

  await t.test('replay <event id>: back on this service\'s queue only, with its original routing key, gone from the DLQ', async (t) => {
    const replay = await dlq('replay', service, event.id)
    t.equal(replay.code, 0, replay.stderr)
    t.match(replay.stdout, `replayed 1 from ${deadLetterQueue}`)
    t.equal((await channel.checkQueue(deadLetterQueue)).messageCount, 0, 'the DLQ is empty')
    const message = await channel.get(queue, { noAck: true })
    if (message === false) throw new Error('nothing on the service queue')
    t.equal(message.fields.exchange, '', 'straight to the queue (the default exchange): no other service gets it again')
    t.equal(message.properties.headers?.['x-topup-routing-key'], OrderCreated.routingKey, 'its routing key travels in a header')
    t.equal(message.properties.messageId, event.id)
    t.same(JSON.parse(message.content.toString('utf8')), event, 'the same event, byte for byte')
    t.equal(message.properties.headers?.['x-replayed-from'], deadLetterQueue)
    t.equal(message.properties.headers?.['x-topup-first-dead-lettered-at'], deadLetteredAt, 'when it was first dead-lettered travels with it')
    t.notOk('x-topup-dead-letter-reason' in (message.properties.headers ?? {}), 'the last reason does not')
  })
})

t.test('npm run dlq -- list|replay unroutable: the events no queue was bound for, published again once one is', async (t) => {
  const AMQP_URL = await rabbitUrl()
  const prefix = `${uniqueName('unr')}.`
  const connection = await amqplib.connect(AMQP_URL)
  const channel = await connection.createConfirmChannel()
  t.teardown(async () => {
    await connection.close()
    await deleteTopologyAt(AMQP_URL, prefix, ['analytics'])
  })
  // the exchanges only: nobody consumes OrderCreated v1 yet, so it goes to topup.unroutable
  await declareTopology(channel, { prefix })
  const { exchange, unroutableQueue } = topologyNames(prefix)
  const event = sampleOrderCreated()
  channel.publish(exchange, OrderCreated.routingKey, Buffer.from(JSON.stringify(event)), { messageId: event.id, type: event.type, correlationId: event.correlation_id, persistent: true })
  await channel.waitForConfirms()
  const dlq = async (...args: string[]) => await run('npm', ['run', '--silent', 'dlq', '--', ...args], { cwd: ROOT, env: { ...process.env, AMQP_URL, BROKER_PREFIX: prefix } })

  const listed = JSON.parse((await dlq('list', 'unroutable', '--json')).stdout) as Array<Record<string, unknown>>
  t.match(listed, [{ eventId: event.id, type: 'OrderCreated', routingKey: OrderCreated.routingKey, cause: 'unroutable', reason: `no queue was bound to ${OrderCreated.routingKey} when it was published` }])
  // the consumer arrives (analytics binds the key), then the operator replays
  await declareTopology(channel, { prefix, service: 'analytics', bindings: [OrderCreated.routingKey] })
  const replayed = await dlq('replay', 'unroutable', '--all')
  t.match(replayed.stdout, `replayed 1 from ${unroutableQueue}`)
  t.equal((await channel.checkQueue(unroutableQueue)).messageCount, 0, 'topup.unroutable is empty')
  const { queue } = serviceQueueNames(prefix, 'analytics')
  const message = await channel.get(queue, { noAck: true })
  if (message === false) throw new Error('nothing reached analytics')
  t.equal(message.fields.routingKey, OrderCreated.routingKey, 'through the events exchange, under its routing key')
  t.equal(message.properties.messageId, event.id)
})
