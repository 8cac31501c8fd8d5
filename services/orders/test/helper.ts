import { deleteTopologyAt } from '@topup/messaging'
import { LogCapture, serviceTestEnv, testUsers, type Teardown, type TestTokenIssuer } from '@topup/service-kit/testing'
import { buildApp } from '../src/app.js'
import { loadOrdersConfig } from '../src/config.js'

export interface Harness {
  app: Awaited<ReturnType<typeof buildApp>>
  issuer: TestTokenIssuer
  logs: LogCapture
  prefix: string
  databaseUrl: string
  /** Authorization headers for a player or a staff member. */
  player: (sub?: string) => { authorization: string }
  staff: () => { authorization: string }
}

export { OTHER_PLAYER_ID, PLAYER_ID, STAFF_ID } from '@topup/service-kit/testing'

/** Builds the orders app on a throwaway database and broker prefix; closed after the test. */
export async function build (t: Teardown, env: Record<string, string> = {}): Promise<Harness> {
  const { databaseUrl, issuer, prefix, amqpUrl, env: base } = await serviceTestEnv(t, 'orders')
  const logs = new LogCapture()
  // order limits far above what any test places (rate-limit.test.ts sets its own, low)
  const config = loadOrdersConfig({ ...base, DEMO_CATALOG: 'true', ORDER_MAX_PER_USER: '100000', ORDER_MAX_PER_IP: '100000', ...env })
  // TEST_LOGS=1 shows the service's log lines while a test runs
  const app = await buildApp(config, { logStream: process.env.TEST_LOGS === '1' ? process.stderr : logs })
  t.teardown(async () => {
    await app.close()
    // the test's exchanges and queues go with it (idle quorum queues slow the broker down)
    await deleteTopologyAt(amqpUrl, prefix, ['orders'])
  })
  await app.ready()
  return {
    app,
    issuer,
    logs,
    prefix,
    databaseUrl,
    ...testUsers(issuer)
  }
}

export { exampleTopupRequest as demoTopup } from '../src/routes/topup/schemas.js'
