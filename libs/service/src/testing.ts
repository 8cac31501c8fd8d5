import { deleteTopologyAt, type Messaging } from '@topup/messaging'
import type { App, BuildOptions } from '@topup/service-kit'
import { LogCapture, serviceTestEnv, testUsers, waitFor, type Teardown, type TestTokenIssuer } from '@topup/service-kit/testing'

export interface TestApp<A extends App = App> {
  app: A
  issuer: TestTokenIssuer
  /** The service's log lines (also echoed to stderr with TEST_LOGS=1). */
  logs: LogCapture
  prefix: string
  databaseUrl: string
  amqpUrl: string
  /** Authorization headers for a player (any id) or the staff member. */
  player: (sub?: string) => { authorization: string }
  staff: () => { authorization: string }
}

/** The log capture, echoed to stderr with TEST_LOGS=1 (and still captured, so assertions on logs hold). */
class TestLogs extends LogCapture {
  override _write (chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (process.env.TEST_LOGS === '1') process.stderr.write(chunk)
    super._write(chunk, encoding, callback)
  }
}

export interface TestAppOptions<A extends App> {
  /** Environment on top of the test's own (database, broker prefix, token issuer). */
  env?: Record<string, string>
  /** Runs after the app is built, before it is ready (e.g. extra test routes). */
  extend?: (app: A, issuer: TestTokenIssuer) => void
}

/**
 * A service's app the way its tests need it: on a throwaway database and
 * broker prefix with a test token issuer, built by the service's own
 * `buildApp` from the environment, ready, and — when it consumes events —
 * subscribed to its queue (the consumer's own state, not a log line).
 * Closed after the test, its exchanges and queues deleted.
 */
export async function buildTestApp<A extends App> (
  t: Teardown,
  service: string,
  build: (env: Record<string, string>, options: BuildOptions) => Promise<A>,
  options: TestAppOptions<A> = {}
): Promise<TestApp<A>> {
  const { databaseUrl, issuer, prefix, amqpUrl, env } = await serviceTestEnv(t, service)
  const logs = new TestLogs()
  const app = await build({ ...env, ...options.env }, { logStream: logs })
  t.teardown(async () => {
    await app.close()
    // idle quorum queues slow the broker down: the test's topology goes with it
    await deleteTopologyAt(amqpUrl, prefix, [service])
  })
  options.extend?.(app, issuer)
  await app.ready()
  // the consumer declares its queue once connected, in the background: a test that ended
  // before that would delete the queue under the declaration (the broker answers 541)
  const consumer = (app.messaging as Messaging | undefined)?.consumer
  if (consumer !== undefined && consumer !== null) await waitFor(`the ${service} consumer`, () => consumer.isConsuming())
  return { app, issuer, logs, prefix, databaseUrl, amqpUrl, ...testUsers(issuer) }
}
