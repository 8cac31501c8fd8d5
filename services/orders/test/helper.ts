import type { Teardown } from '@topup/service-kit/testing'
import { buildTestApp, type TestApp } from '@topup/service/testing'
import { buildApp } from '../src/app.js'
import { loadOrdersConfig } from '../src/config.js'

export type Harness = TestApp<Awaited<ReturnType<typeof buildApp>>>

export { OTHER_PLAYER_ID, PLAYER_ID, STAFF_ID } from '@topup/service-kit/testing'

/** Builds the orders app on a throwaway database and broker prefix; closed after the test. */
export async function build (t: Teardown, env: Record<string, string> = {}): Promise<Harness> {
  // order limits far above what any test places (rate-limit.test.ts sets its own, low)
  return await buildTestApp(t, 'orders', async (base, options) =>
    await buildApp(loadOrdersConfig({ ...base, DEMO_CATALOG: 'true', ORDER_MAX_PER_USER: '100000', ORDER_MAX_PER_IP: '100000', ...env }), options))
}

export { exampleTopupRequest as demoTopup } from '../src/routes/topup/schemas.js'
