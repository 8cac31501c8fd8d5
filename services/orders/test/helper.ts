import amqplib from 'amqplib'
import { deleteTopology } from '@topup/messaging'
import { LogCapture, rabbitUrl, serviceTestEnv, type Teardown, type TestTokenIssuer } from '@topup/service-kit/testing'
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

export const PLAYER_ID = '11111111-1111-4111-8111-111111111111'
export const OTHER_PLAYER_ID = '22222222-2222-4222-8222-222222222222'
export const STAFF_ID = '33333333-3333-4333-8333-333333333333'

/** Builds the orders app on a throwaway database and broker prefix; closed after the test. */
export async function build (t: Teardown, env: Record<string, string> = {}): Promise<Harness> {
  const { databaseUrl, issuer, prefix, env: base } = await serviceTestEnv(t, 'orders')
  const logs = new LogCapture()
  const config = loadOrdersConfig({ ...base, DEMO_CATALOG: 'true', ...env })
  // TEST_LOGS=1 shows the service's log lines while a test runs
  const app = await buildApp(config, { logStream: process.env.TEST_LOGS === '1' ? process.stderr : logs })
  t.teardown(async () => {
    await app.close()
    // the test's exchanges and queues go with it (idle quorum queues slow the broker down)
    const admin = await amqplib.connect(await rabbitUrl())
    const channel = await admin.createChannel()
    await deleteTopology(channel, prefix, ['orders'])
    await admin.close()
  })
  await app.ready()
  return {
    app,
    issuer,
    logs,
    prefix,
    databaseUrl,
    player: (sub = PLAYER_ID) => ({ authorization: `Bearer ${issuer.token({ sub, email: `${sub.slice(0, 4)}@players.test` })}` }),
    staff: () => ({ authorization: `Bearer ${issuer.token({ sub: STAFF_ID, staff: true, email: 'staff@topup.test' })}` })
  }
}

export const demoTopup = {
  gamename: 'clash of clan',
  game_id: 'coc123',
  product_name: 'UC Pack 500',
  product_id: 4,
  product_price: '699.00'
}
