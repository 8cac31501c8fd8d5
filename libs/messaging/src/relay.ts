import { sql, type Kysely } from 'kysely'
import pg from 'pg'
import type { BrokerConnection } from './connection.js'
import { Backoff, errorMessage, sleep, type Logger } from './log.js'
import type { MessagingMetrics } from './metrics.js'
import { OUTBOX_NOTIFY_CHANNEL, type OutboxDatabase } from './outbox.js'

export interface OutboxRelayOptions<DB extends OutboxDatabase> {
  db: Kysely<DB>
  connection: BrokerConnection
  log: Logger
  /** Rows per transaction. Default 100. */
  batchSize?: number
  /** Fallback poll when no notification arrives. Default 1000. */
  pollIntervalMs?: number
  /**
   * The service's database URL, for a dedicated LISTEN connection: the relay
   * wakes as soon as a transaction that enqueued an event commits. Without it
   * the relay only polls.
   */
  notifyUrl?: string
  /** Backoff after a failure (broker or database). Defaults 100 → 5000 ms. */
  retryInitialMs?: number
  retryMaxMs?: number
  /** Counts the events published, per type, when given. */
  metrics?: MessagingMetrics
}

export interface RelayStats {
  /** Events the broker confirmed (and that were marked sent). */
  published: number
  /** Failed publish attempts plus failed batches. */
  failures: number
  batches: number
  lastError: string | null
}

export interface OutboxRelay {
  readonly stats: Readonly<RelayStats>
  /** Look for unsent events now. */
  wake: () => void
  /** Stops polling, lets the batch in flight finish, closes the LISTEN connection. */
  stop: () => Promise<void>
}

/** One batch: rows selected, the types of those the broker confirmed (in order), how many failed. */
interface BatchResult { selected: number, publishedTypes: string[], failed: number }

/**
 * Publishes unsent outbox rows in order, with publisher confirms, and marks
 * them sent in the same transaction that locked them (`FOR UPDATE SKIP
 * LOCKED`), so several relays share the work and a row is published again
 * only if its transaction did not commit. The broker being away keeps the
 * rows, backs off and retries; it never crashes the service.
 */
export function startOutboxRelay<DB extends OutboxDatabase> (options: OutboxRelayOptions<DB>): OutboxRelay {
  const db = options.db as unknown as Kysely<OutboxDatabase>
  const { connection, log } = options
  const batchSize = options.batchSize ?? 100
  const pollIntervalMs = options.pollIntervalMs ?? 1000
  const backoff = new Backoff(options.retryInitialMs ?? 100, options.retryMaxMs ?? 5000)
  const stats: RelayStats = { published: 0, failures: 0, batches: 0, lastError: null }
  const stopping = new AbortController()
  let wakeUp: AbortController = new AbortController()
  let pending = false

  function wake (): void {
    pending = true
    wakeUp.abort()
  }

  async function idle (ms: number): Promise<void> {
    if (pending || stopping.signal.aborted) return
    await sleep(ms, AbortSignal.any([wakeUp.signal, stopping.signal]))
  }

  async function runBatch (): Promise<BatchResult> {
    return await db.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('outbox')
        .select(['id', 'event_id', 'type', 'routing_key', 'correlation_id', 'payload'])
        .where('sent_at', 'is', null)
        .orderBy('id')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()
        .execute()
      if (rows.length === 0) return { selected: 0, publishedTypes: [], failed: 0 }
      // published in id order on one channel; confirms awaited together
      const results = await Promise.allSettled(rows.map(async (row) => {
        await connection.publish(row.routing_key, Buffer.from(JSON.stringify(row.payload)), {
          messageId: row.event_id, type: row.type, correlationId: row.correlation_id
        })
      }))
      const sent: string[] = []
      const publishedTypes: string[] = []
      const failed: Array<{ id: string, reason: string }> = []
      results.forEach((result, i) => {
        const row = rows[i]
        if (row === undefined) return
        if (result.status === 'fulfilled') {
          sent.push(row.id)
          publishedTypes.push(row.type)
        } else failed.push({ id: row.id, reason: errorMessage(result.reason) })
      })
      if (sent.length > 0) {
        await trx.updateTable('outbox').set({ sent_at: sql<Date>`now()` }).where('id', 'in', sent).execute()
      }
      for (const { id, reason } of failed) {
        await trx.updateTable('outbox').set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: reason })).where('id', '=', id).execute()
      }
      if (failed.length > 0) {
        stats.lastError = failed[0]?.reason ?? null
        log.warn({ failed: failed.length, published: sent.length, reason: stats.lastError }, 'outbox relay could not publish some events; will retry')
      }
      return { selected: rows.length, publishedTypes, failed: failed.length }
    })
  }

  async function loop (): Promise<void> {
    while (!stopping.signal.aborted) {
      if (wakeUp.signal.aborted) wakeUp = new AbortController()
      pending = false
      if (!connection.isConnected()) {
        // rows stay in the outbox; look again soon (a reconnect is not announced to us)
        await idle(Math.min(pollIntervalMs, 250))
        continue
      }
      let result: BatchResult
      try {
        result = await runBatch()
      } catch (err) {
        stats.failures++
        stats.lastError = errorMessage(err)
        const delay = backoff.next()
        log.error({ err, retryInMs: delay }, 'outbox relay batch failed')
        await sleep(delay, stopping.signal)
        continue
      }
      stats.batches++
      stats.published += result.publishedTypes.length
      // counted once the marks are committed: a batch rolled back is published (and counted) again
      for (const type of result.publishedTypes) options.metrics?.published.inc({ type })
      stats.failures += result.failed
      if (result.failed > 0) {
        await sleep(backoff.next(), stopping.signal)
        continue
      }
      backoff.reset()
      if (result.selected < batchSize) await idle(pollIntervalMs)
    }
  }

  async function listen (url: string): Promise<void> {
    const retry = new Backoff(options.retryInitialMs ?? 100, options.retryMaxMs ?? 5000)
    while (!stopping.signal.aborted) {
      const client = new pg.Client({ connectionString: url })
      const ended = new Promise<void>((resolve) => {
        client.on('error', (err) => { log.warn({ reason: err.message }, 'outbox LISTEN connection failed'); resolve() })
        client.on('end', () => { resolve() })
      })
      client.on('notification', (message) => { if (message.channel === OUTBOX_NOTIFY_CHANNEL) wake() })
      try {
        await client.connect()
        await client.query(`LISTEN ${client.escapeIdentifier(OUTBOX_NOTIFY_CHANNEL)}`)
        retry.reset()
        wake() // catch up on whatever committed while not listening
        // sleep() resolves at once when stop() already ran during the connect
        await Promise.race([ended, sleep(2 ** 31 - 1, stopping.signal)])
      } catch (err) {
        log.warn({ reason: errorMessage(err) }, 'outbox LISTEN failed; polling meanwhile')
      } finally {
        await client.end().catch(() => {})
      }
      if (!stopping.signal.aborted) await sleep(retry.next(), stopping.signal)
    }
  }

  const running = loop()
  const listening = options.notifyUrl === undefined ? Promise.resolve() : listen(options.notifyUrl)

  return {
    stats,
    wake,
    async stop () {
      stopping.abort()
      await running
      await listening
    }
  }
}
