import { connect, type Channel, type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib'
import { errorMessage, type Logger } from './log.js'
import { declareExchanges, topologyNames } from './topology.js'

/** Run after every successful (re)connect, on the fresh connection. */
export type ConnectionSetup = (model: ChannelModel) => Promise<void>

export interface BrokerConnectionOptions {
  url: string
  /** Broker name prefix (empty in production, unique per test file). */
  prefix: string
  log: Logger
  /** Shown in the broker's management UI. */
  connectionName?: string
  /** First reconnect delay; doubles up to `maxReconnectDelayMs`. Default 200. */
  initialReconnectDelayMs?: number
  /** Default 5000. */
  maxReconnectDelayMs?: number
  /** How long a publish waits for the broker's confirm. Default 10000. */
  confirmTimeoutMs?: number
  /** AMQP heartbeat in seconds (dead-peer detection) unless the URL sets one. Default 10. */
  heartbeatSeconds?: number
}

export interface PublishOptions {
  /** Where to: the events exchange by default (the consumer sends dead letters to the dead-letter exchange). */
  exchange?: string
  messageId: string
  type: string
  correlationId?: string
  headers?: Record<string, unknown>
}

/** The header with the moment a message was published (milliseconds since the epoch). */
export const PUBLISHED_AT_HEADER = 'x-published-at'

export class BrokerUnavailableError extends Error {
  constructor (message = 'not connected to RabbitMQ') {
    super(message)
    this.name = 'BrokerUnavailableError'
  }
}

/**
 * One RabbitMQ connection for a service, kept alive by amqplib 2.x's built-in
 * recovery (reconnects with exponential backoff, forever). Every registered
 * setup (the exchanges, a consumer's queue and channel) runs again after each
 * reconnect; a failing setup closes the connection and recovery retries.
 */
export class BrokerConnection {
  readonly prefix: string
  readonly exchange: string
  private readonly log: Logger
  private readonly setups = new Set<ConnectionSetup>()
  private readonly applied = new WeakMap<ConnectionSetup, ChannelModel>()
  private readonly confirmTimeoutMs: number
  private recovering: RecoveringChannelModel | null = null
  private model: ChannelModel | null = null
  private confirmChannel: Promise<ConfirmChannel> | null = null
  private closed = false
  private setupLock: Promise<void> = Promise.resolve()
  private readonly connectedWaiters = new Set<() => void>()

  private constructor (options: BrokerConnectionOptions) {
    this.prefix = options.prefix
    this.exchange = topologyNames(options.prefix).exchange
    this.log = options.log
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? 10_000
    this.setups.add(async (model) => {
      const channel = await model.createChannel()
      try {
        await declareExchanges(channel, this.prefix)
      } finally {
        await channel.close().catch(() => {})
      }
    })
  }

  /**
   * Starts connecting (retrying forever, with backoff) and resolves at once:
   * `isConnected()` tells whether the broker is there, `waitUntilConnected()`
   * waits for it. Requests keep working while the broker is away; the outbox
   * holds what could not be published.
   */
  static async open (options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const self = new BrokerConnection(options)
    const url = new URL(options.url)
    if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(options.heartbeatSeconds ?? 10))
    const recovering = await connect(url.toString(), {
      clientProperties: { connection_name: options.connectionName ?? 'topup' },
      recovery: {
        initialDelay: options.initialReconnectDelayMs ?? 200,
        maxDelay: options.maxReconnectDelayMs ?? 5000,
        maxRetries: Infinity,
        waitForConnect: false,
        setup: async (model: ChannelModel) => { await self.runSetups(model) }
      }
    })
    self.bind(recovering, redactUrl(options.url))
    return self
  }

  private bind (recovering: RecoveringChannelModel, broker: string): void {
    this.recovering = recovering
    const log = this.log
    recovering.on('connect', (model: ChannelModel) => {
      this.model = model
      // an error on a connection we already gave up (closed, or replaced) must not crash the process
      model.on('error', (err: Error) => { if (this.model !== model) log.debug({ reason: err.message }, 'error on a stale RabbitMQ connection') })
      log.info({ broker }, 'connected to RabbitMQ')
      for (const wake of this.connectedWaiters) wake()
      // setups registered while this connection was being set up
      void this.applySetups(model)
    })
    recovering.on('disconnect', (err: Error) => {
      this.model = null
      this.confirmChannel = null
      if (!this.closed) log.warn({ broker, reason: err.message }, 'RabbitMQ connection lost; reconnecting')
    })
    recovering.on('connect-failed', (err: Error) => {
      log.warn({ broker, reason: err.message }, 'RabbitMQ connection attempt failed')
    })
    recovering.on('reconnect-failed', (err: Error) => {
      log.error({ broker, reason: err.message }, 'RabbitMQ recovery gave up')
    })
    recovering.on('error', (err: Error) => {
      log.warn({ broker, reason: err.message }, 'RabbitMQ connection error')
    })
    recovering.on('handler-error', (err: Error, event: string) => {
      log.error({ err, event }, 'error in a RabbitMQ connection listener')
    })
    recovering.on('blocked', (reason: string) => { log.warn({ reason }, 'RabbitMQ is blocking publishers') })
    recovering.on('unblocked', () => { log.info({}, 'RabbitMQ unblocked publishers') })
  }

  isConnected (): boolean {
    return this.model !== null && !this.closed
  }

  /** Resolves once connected; rejects after `timeoutMs` (default: waits forever) or when closed. */
  async waitUntilConnected (timeoutMs?: number): Promise<void> {
    if (this.isConnected()) return
    if (this.closed) throw new BrokerUnavailableError('connection closed')
    await new Promise<void>((resolve, reject) => {
      const timer = timeoutMs === undefined
        ? undefined
        : setTimeout(() => { this.connectedWaiters.delete(wake); reject(new BrokerUnavailableError(`not connected to RabbitMQ within ${timeoutMs} ms`)) }, timeoutMs)
      const wake = (): void => { clearTimeout(timer); this.connectedWaiters.delete(wake); resolve() }
      this.connectedWaiters.add(wake)
    })
  }

  /**
   * Registers a setup that runs now (when connected) and after every
   * reconnect. Returns a function that unregisters it.
   */
  async addSetup (setup: ConnectionSetup): Promise<() => void> {
    this.setups.add(setup)
    const model = this.model
    if (model !== null) await this.applySetups(model)
    return () => { this.setups.delete(setup) }
  }

  /**
   * The current connection's setups failed or one of its channels broke:
   * drop the connection so recovery reconnects and runs every setup again.
   */
  async reset (reason: string): Promise<void> {
    const model = this.model
    if (model === null || this.closed) return
    this.log.warn({ reason }, 'resetting the RabbitMQ connection')
    await model.close().catch(() => {})
  }

  /** A plain channel on the live connection (waits for it); the caller closes it. */
  async createChannel (): Promise<Channel> {
    if (this.recovering === null || this.closed) throw new BrokerUnavailableError('connection closed')
    return await this.recovering.createChannel()
  }

  /**
   * Publishes one persistent JSON message to the events exchange (or
   * `options.exchange`) and resolves
   * when the broker has confirmed it. Never buffers: without a connection it
   * rejects at once with `BrokerUnavailableError` (the outbox keeps the event).
   */
  async publish (routingKey: string, content: Buffer, options: PublishOptions): Promise<void> {
    const channel = await this.getConfirmChannel()
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no confirm from RabbitMQ within ${this.confirmTimeoutMs} ms`)) }, this.confirmTimeoutMs)
      try {
        channel.publish(options.exchange ?? this.exchange, routingKey, content, {
          persistent: true,
          contentType: 'application/json',
          messageId: options.messageId,
          type: options.type,
          ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
          // when it was published, in milliseconds (the AMQP timestamp has seconds): what a
          // consumer's lag is measured from, whatever time the event itself says it happened
          headers: { ...options.headers, [PUBLISHED_AT_HEADER]: Date.now() },
          timestamp: Math.floor(Date.now() / 1000)
        }, (err: unknown) => {
          clearTimeout(timer)
          if (err === null || err === undefined) resolve()
          else reject(err instanceof Error ? err : new Error(`RabbitMQ refused the message: ${errorMessage(err)}`))
        })
      } catch (err) {
        clearTimeout(timer)
        reject(err instanceof Error ? err : new Error(errorMessage(err)))
      }
    })
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    const channel = this.confirmChannel
    this.confirmChannel = null
    if (channel !== null) await channel.then(async (c) => { await c.close() }).catch(() => {})
    // a setup still declaring queues would otherwise race the close (and a later topology delete)
    await Promise.race([this.setupLock, new Promise((resolve) => setTimeout(resolve, 5000).unref())])
    await this.recovering?.close()
    this.model = null
  }

  private async getConfirmChannel (): Promise<ConfirmChannel> {
    const model = this.model
    if (model === null || this.closed) throw new BrokerUnavailableError()
    if (this.confirmChannel === null) {
      const opening = model.createConfirmChannel().then((channel) => {
        channel.on('error', (err: Error) => { this.log.warn({ reason: err.message }, 'publisher channel error') })
        channel.on('handler-error', (err: Error, event: string) => { this.log.error({ err, event }, 'error in a publisher channel listener') })
        channel.on('close', () => { if (this.confirmChannel === opening) this.confirmChannel = null })
        return channel
      })
      opening.catch(() => { if (this.confirmChannel === opening) this.confirmChannel = null })
      this.confirmChannel = opening
    }
    return await this.confirmChannel
  }

  /** Setups run one at a time, each at most once per connection. */
  private async runSetups (model: ChannelModel): Promise<void> {
    const run = this.setupLock.then(async () => { await this.runSetupsNow(model) })
    this.setupLock = run.catch(() => {})
    await run
  }

  private async runSetupsNow (model: ChannelModel): Promise<void> {
    for (const setup of [...this.setups]) {
      if (this.applied.get(setup) === model || !this.setups.has(setup)) continue
      await setup(model)
      this.applied.set(setup, model)
    }
  }

  private async applySetups (model: ChannelModel): Promise<void> {
    try {
      await this.runSetups(model)
    } catch (err) {
      if (this.closed || this.model !== model) return
      this.log.error({ reason: errorMessage(err) }, 'RabbitMQ setup failed; reconnecting')
      await model.close().catch(() => {})
    }
  }
}

export function redactUrl (url: string): string {
  const parsed = new URL(url)
  if (parsed.password !== '') parsed.password = '***'
  return parsed.toString()
}
