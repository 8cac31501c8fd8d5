import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import pg from 'pg'
import { LIVE_CHANNEL, type ReadModelChange } from '../db/live.js'

/**
 * What the live streams hear: one dedicated `LISTEN topup_analytics_changes`
 * connection per analytics instance, on its own database (src/db/live.ts), so
 * a stream on any instance hears the changes every instance commits. Changes
 * are batched for BATCH_MS (a burst of orders is one message per stream, and
 * a dashboard refetches once), then handed to every subscriber.
 *
 * The connection is re-made with backoff (100 ms doubling to 5 s) when it
 * fails; notifications sent meanwhile are lost, so after every reconnect the
 * subscribers get a `resync` (the page reloads its figures). A quiet database
 * costs nothing: no polling, one idle connection.
 */
export type LiveMessage =
  | { type: 'changes', changes: ReadModelChange[], count: number }
  | { type: 'resync' }

export interface LiveHub {
  /** Calls `listener` with every batch of changes until the returned function is called. */
  subscribe: (listener: (message: LiveMessage) => void) => () => void
  /** Whether the LISTEN connection is up right now. */
  listening: () => boolean
  subscribers: () => number
}

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveHub
  }
}

/** How long changes are gathered before they go out: well within the dashboard's 2 s. */
const BATCH_MS = 150
/** Changes listed per batch at most (the count says how many there were). */
const BATCH_LIST = 100

export default fp(async function live (app: FastifyInstance, options: { databaseUrl: string }) {
  const listeners = new Set<(message: LiveMessage) => void>()
  let pending: ReadModelChange[] = []
  let pendingCount = 0
  let timer: NodeJS.Timeout | null = null
  let connected = false
  const stopping = new AbortController()

  const broadcast = (message: LiveMessage): void => {
    for (const listener of listeners) listener(message)
  }
  const flush = (): void => {
    timer = null
    const message: LiveMessage = { type: 'changes', changes: pending, count: pendingCount }
    pending = []
    pendingCount = 0
    broadcast(message)
  }
  const received = (payload: string | undefined): void => {
    let change: ReadModelChange
    try {
      change = JSON.parse(payload ?? '') as ReadModelChange
    } catch {
      app.log.warn({ channel: LIVE_CHANNEL }, 'live notification is not JSON; ignored')
      return
    }
    pendingCount++
    if (pending.length < BATCH_LIST) pending.push(change)
    timer ??= setTimeout(flush, BATCH_MS)
  }

  const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    stopping.signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
  })

  // resolves after the first attempt (tests and the first streams find it listening), then keeps it up
  let firstAttempt: () => void = () => {}
  const first = new Promise<void>((resolve) => { firstAttempt = resolve })
  async function listen (): Promise<void> {
    let delay = 100
    let everConnected = false
    while (!stopping.signal.aborted) {
      const client = new pg.Client({ connectionString: options.databaseUrl })
      const ended = new Promise<void>((resolve) => {
        client.on('error', (err) => { app.log.warn({ reason: err.message }, 'live LISTEN connection failed'); resolve() })
        client.on('end', () => { resolve() })
      })
      client.on('notification', (message) => { if (message.channel === LIVE_CHANNEL) received(message.payload) })
      try {
        await client.connect()
        await client.query(`LISTEN ${client.escapeIdentifier(LIVE_CHANNEL)}`)
        connected = true
        delay = 100
        // what committed while nobody listened is unknown: every stream reloads
        if (everConnected) broadcast({ type: 'resync' })
        everConnected = true
        firstAttempt()
        await Promise.race([ended, new Promise<void>((resolve) => { stopping.signal.addEventListener('abort', () => { resolve() }, { once: true }) })])
      } catch (err) {
        app.log.warn({ reason: (err as Error).message }, 'live LISTEN failed; retrying')
      } finally {
        connected = false
        firstAttempt()
        await client.end().catch(() => {})
      }
      if (!stopping.signal.aborted) {
        await sleep(delay)
        delay = Math.min(delay * 2, 5000)
      }
    }
  }

  let running: Promise<void> = Promise.resolve()
  app.addHook('onReady', async () => {
    running = listen()
    await first
  })
  app.addHook('onClose', async () => {
    stopping.abort()
    if (timer !== null) clearTimeout(timer)
    await running
  })

  app.decorate('live', {
    subscribe (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    listening: () => connected,
    subscribers: () => listeners.size
  } satisfies LiveHub)
}, { name: 'live' })
