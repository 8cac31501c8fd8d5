/**
 * Deletes the exchanges and queues that test runs left on the local RabbitMQ
 * (names under a test prefix such as `orders_mwvy4eic_fc82835a.`), e.g. after
 * a run was killed before its teardown. Hundreds of idle quorum queues slow
 * the broker down for every later run. Production names (no prefix) are kept.
 *
 *   npm run purge-test-broker        (AMQP_URL, default the local broker)
 */
import { execFileSync } from 'node:child_process'
import amqplib from 'amqplib'

const TEST_PREFIX = /^[a-z]+_[a-z0-9]+_[0-9a-f]{8}\./

/** The names of the queues or exchanges under a test prefix (rabbitmqctl lists them; AMQP cannot). */
function list (what: 'list_queues' | 'list_exchanges'): string[] {
  const out = execFileSync('rabbitmqctl', [what, 'name', '-q', '--no-table-headers'], { encoding: 'utf8' })
  return out.split('\n').map((l) => l.trim()).filter((name) => TEST_PREFIX.test(name))
}

const queues = list('list_queues')
const exchanges = list('list_exchanges')
const connection = await amqplib.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672')
const channel = await connection.createChannel()
for (const queue of queues) await channel.deleteQueue(queue)
for (const exchange of exchanges) await channel.deleteExchange(exchange)
await connection.close()
console.log(`purged ${queues.length} queues and ${exchanges.length} exchanges left by earlier test runs`)
