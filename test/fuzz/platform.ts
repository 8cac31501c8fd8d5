/**
 * The running platform as the fuzz tests need it: started through the system
 * harness with the settings load needs (rate limits off, a signing key the
 * tests hold, a staff user), plus the checks that it is still whole.
 */
import { startSystem, waitFor, type System, type Teardown } from '../system/harness.js'
import type { Kysely } from 'kysely'
import { differences, snapshot, type Snapshot } from './snapshot.js'
import type { SigningMaterial } from './tokens.js'

export const STAFF = { STAFF_USERNAME: 'fuzz_staff', STAFF_EMAIL: 'fuzz_staff@topup.test', STAFF_PASSWORD: 'Fuzz-Staff-Passw0rd-42' }

/**
 * Rate limits that thousands of requests from one address would hit are off
 * ("0 = off", team rule for load-generating tests), and the login throttle
 * per address is far away (else after 20 failures every fuzzed login is a
 * 429 and the password check is never reached); per account it stays.
 */
const LOAD_ENV = {
  auth: { REGISTER_MAX_PER_IP: '0', LOGIN_MAX_PER_IP: '1000000' },
  orders: { ORDER_MAX_PER_USER: '0', ORDER_MAX_PER_IP: '0' }
}

export async function startPlatform (t: Teardown, material: SigningMaterial, gatewayEnv: Record<string, string> = {}): Promise<System> {
  return await startSystem(t, {
    env: {
      all: { LOG_LEVEL: process.env.FUZZ_LOG_LEVEL ?? 'warn' },
      auth: { ...STAFF, ...LOAD_ENV.auth, AUTH_PRIVATE_KEY: material.privateKeyPem },
      orders: LOAD_ENV.orders,
      gateway: gatewayEnv
    }
  })
}

/** Each service's database, keyed by service name. */
export function databasesOf (system: System): Record<string, Kysely<unknown>> {
  const dbs: Record<string, Kysely<unknown>> = {
    auth: system.auth.db,
    orders: system.orders[0]?.db as unknown as Kysely<unknown>,
    payments: system.payments[0]?.db as unknown as Kysely<unknown>
  }
  if (system.analytics !== null) dbs.analytics = system.analytics.db as unknown as Kysely<unknown>
  return dbs
}

/**
 * Waits until nothing moves in any database (events consumed, outboxes
 * relayed): two snapshots in a row, 300 ms apart, equal.
 */
export async function quiescent (dbs: Record<string, Kysely<unknown>>, what: string): Promise<Snapshot> {
  let previous = await snapshot(dbs)
  return await waitFor(async () => {
    await new Promise((resolve) => setTimeout(resolve, 300))
    const next = await snapshot(dbs, previous)
    const { changed, appended } = differences(previous, next)
    const still = changed.length === 0 && Object.values(appended).every((n) => n === 0)
    previous = next
    return still ? next : undefined
  }, { timeoutMs: 20_000, intervalMs: 0, what: `the databases to settle (${what})` })
}

/**
 * Problems with the platform's health (empty when none): every service's own
 * /health, the gateway's /health and /ready on its admin listener, and the
 * gateway proxying a read to orders.
 */
export async function healthProblems (system: System): Promise<string[]> {
  const problems: string[] = []
  const services: Array<[string, string]> = [['auth', system.auth.url], ['orders', system.orders[0]?.url ?? ''], ['payments', system.payments[0]?.url ?? '']]
  if (system.analytics !== null) services.push(['analytics', system.analytics.url])
  const probe = async (name: string, url: string): Promise<void> => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
      await res.arrayBuffer()
      if (res.status !== 200) problems.push(`${name}: GET ${url} → ${res.status}`)
    } catch (err) {
      problems.push(`${name}: GET ${url} failed (${(err as Error).message})`)
    }
  }
  await Promise.all([
    ...services.map(async ([name, url]) => { await probe(name, `${url}/health`) }),
    probe('gateway admin', `${system.gateway.adminUrl}/health`),
    probe('gateway admin', `${system.gateway.adminUrl}/ready`),
    probe('gateway', `${system.url}/api/games/`)
  ])
  return problems
}
