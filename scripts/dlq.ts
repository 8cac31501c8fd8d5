/**
 * The dead-letter queues, for an operator (docs/OPERATORS.md, "Dead letters"):
 *
 *   npm run dlq -- list <service> [--json]
 *   npm run dlq -- replay <service> <event id>... | --all
 *
 * `list` shows each dead-lettered message (type, event id, why, deliveries,
 * when it was first dead-lettered) and leaves the queue as it was. `replay`
 * puts messages back on that service's queue with their original routing key,
 * once their cause is fixed; an event applied meanwhile is skipped by the
 * service's inbox, so a replay never applies anything twice.
 *
 * `unroutable` in place of a service: the events of topup.unroutable, which
 * were published while no queue was bound to their routing key (a producer on
 * a new contract version before its consumers); `replay` publishes them again
 * to every service bound now.
 *
 * AMQP_URL (default the local broker) and BROKER_PREFIX (default none) say
 * which broker and which names, as for the services.
 */
import { parseArgs } from 'node:util'
import { BrokerConnection, listDeadLetters, listUnroutable, replayDeadLetters, replayUnroutable, serviceQueueNames, topologyNames, type DeadLetter } from '@topup/messaging'
import { ScriptError } from './common/settings.js'

/** The services that consume events, so have a dead-letter queue. */
const CONSUMERS = ['orders', 'payments', 'analytics'] as const
/** Not a service: the events no queue was bound for when they were published (topup.unroutable). */
const UNROUTABLE = 'unroutable'

const USAGE = `usage:
  npm run dlq -- list <service> [--json]
  npm run dlq -- replay <service> <event id>... | --all
services: ${CONSUMERS.join(', ')}; or ${UNROUTABLE}: events published while no queue was bound to them`

function table (letters: readonly DeadLetter[]): string {
  const rows = letters.map((l) => [l.type ?? '?', l.eventId ?? '(no id)', l.cause, String(l.deliveries ?? '?'), l.firstSeen ?? '?', String(l.timesDeadLettered), l.reason])
  const header = ['type', 'event id', 'cause', 'deliveries', 'first seen', 'times', 'reason']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  // the reason is last and not padded: it is as long as it needs to be
  const line = (cells: string[]): string => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)).join('  ')
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

async function main (argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { all: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help === true) { console.log(USAGE); return }
  const [command, service, ...ids] = positionals
  if (command !== 'list' && command !== 'replay') throw new ScriptError(`unknown command ${JSON.stringify(command ?? '')}\n${USAGE}`)
  if (service === undefined || !([...CONSUMERS, UNROUTABLE] as readonly string[]).includes(service)) throw new ScriptError(`name a service with a dead-letter queue: ${CONSUMERS.join(', ')} (or ${UNROUTABLE})\n${USAGE}`)
  if (command === 'replay' && (values.all === true) === (ids.length > 0)) throw new ScriptError(`replay takes event ids or --all (one of the two)\n${USAGE}`)

  const prefix = process.env.BROKER_PREFIX ?? ''
  const quiet = { debug () {}, info () {}, warn () {}, error () {} }
  const connection = await BrokerConnection.open({ url: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', prefix, log: quiet, connectionName: `dlq ${command}` })
  const unroutable = service === UNROUTABLE
  const deadLetterQueue = unroutable ? topologyNames(prefix).unroutableQueue : serviceQueueNames(prefix, service).deadLetterQueue
  try {
    await connection.waitUntilConnected(10_000)
    if (command === 'list') {
      const letters = unroutable ? await listUnroutable({ connection, prefix }) : await listDeadLetters({ connection, prefix, service })
      if (values.json === true) console.log(JSON.stringify(letters, null, 2))
      else if (letters.length === 0) console.log(`${deadLetterQueue}: empty`)
      else console.log(`${deadLetterQueue}: ${letters.length} message${letters.length === 1 ? '' : 's'}\n\n${table(letters)}`)
      return
    }
    const which = values.all === true ? {} : { eventIds: ids }
    const result = unroutable ? await replayUnroutable({ connection, prefix, ...which }) : await replayDeadLetters({ connection, prefix, service, ...which })
    if (values.json === true) { console.log(JSON.stringify(result)); return }
    console.log(`replayed ${result.replayed} from ${deadLetterQueue}; left there: ${result.kept} not asked for, ${result.skipped} without a routing key`)
    if (result.notFound.length > 0) {
      console.log(`not in the queue: ${result.notFound.join(', ')}`)
      process.exitCode = 1
    }
  } catch (err) {
    if (/NOT[-_]FOUND/.test(err instanceof Error ? err.message : '')) {
      throw new ScriptError(`there is no queue ${deadLetterQueue} on this broker: ${service} has not run against it yet, or BROKER_PREFIX is not the one it runs with (now ${JSON.stringify(prefix)})`)
    }
    throw err
  } finally {
    await connection.close()
  }
}

try {
  await main(process.argv.slice(2))
} catch (err) {
  console.error(err instanceof ScriptError ? err.message : `dlq: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
}
