/**
 * Test support: each test file gets its own throwaway database (and broker
 * names), so files run in parallel. PostgreSQL and RabbitMQ come from the
 * environment or the localhost defaults; only when neither answers does a
 * laptop with Docker fall back to testcontainers — and CI fails instead.
 */
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import pg from 'pg'

export interface Teardown { teardown: (fn: () => unknown) => void }

const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/postgres'
const DEFAULT_AMQP = 'amqp://guest:guest@127.0.0.1:5672'

export function uniqueName (prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
}

async function pgAnswers (url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

let adminUrl: Promise<string> | undefined

/** The URL of a database from which test databases can be created. */
export async function postgresAdminUrl (): Promise<string> {
  adminUrl ??= (async () => {
    const url = process.env.TEST_DATABASE_URL ?? DEFAULT_PG
    if (await pgAnswers(url)) return url
    if (process.env.CI !== undefined && process.env.CI !== '') {
      throw new Error(`PostgreSQL does not answer at ${url} (CI does not fall back to testcontainers)`)
    }
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
    const container = await new PostgreSqlContainer('postgres:16-alpine').withUsername('postgres').withPassword('postgres').start()
    process.once('exit', () => { void container.stop() })
    return container.getConnectionUri().replace(/\/[^/]*$/, '/postgres')
  })()
  return await adminUrl
}

/** Creates an empty database for this test file and drops it afterwards. */
export async function createTestDatabase (t: Teardown, prefix = 'test'): Promise<string> {
  const admin = await postgresAdminUrl()
  const name = uniqueName(prefix).toLowerCase()
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`)
  await client.end()
  t.teardown(async () => {
    const dropper = new pg.Client({ connectionString: admin })
    await dropper.connect()
    await dropper.query(`DROP DATABASE IF EXISTS ${dropper.escapeIdentifier(name)} WITH (FORCE)`)
    await dropper.end()
  })
  const url = new URL(admin)
  url.pathname = `/${name}`
  return url.toString()
}

let amqpUrl: Promise<string> | undefined

/** The RabbitMQ URL for tests (each test file uses its own exchange/queue prefix). */
export async function rabbitUrl (): Promise<string> {
  amqpUrl ??= (async () => {
    const url = process.env.TEST_AMQP_URL ?? DEFAULT_AMQP
    const { connect } = await import('node:net')
    const target = new URL(url)
    const answers = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: target.hostname, port: Number(target.port === '' ? 5672 : target.port) })
      socket.setTimeout(3000)
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { resolve(false) })
      socket.once('timeout', () => { socket.destroy(); resolve(false) })
    })
    if (answers) return url
    if (process.env.CI !== undefined && process.env.CI !== '') {
      throw new Error(`RabbitMQ does not answer at ${url} (CI does not fall back to testcontainers)`)
    }
    const { RabbitMQContainer } = await import('@testcontainers/rabbitmq')
    const container = await new RabbitMQContainer('rabbitmq:3.13-alpine').start()
    process.once('exit', () => { void container.stop() })
    return container.getAmqpUrl()
  })()
  return await amqpUrl
}

/** Collects a service's log lines so tests can assert what is (not) logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = []
  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''))
    callback()
  }

  get text (): string { return this.lines.join('\n') }

  entries (): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  }
}
