import t from 'tap'
import { Redis } from 'ioredis'
import { closedUrl, uniqueName } from '@topup/service-kit/testing'
import { build, login, newUser, register, type Tap } from './helper.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address })

/** A Redis key prefix of this test only; its keys are deleted afterwards. */
async function redisPrefix (t: Tap): Promise<{ prefix: string, keys: () => Promise<string[]> }> {
  const prefix = `${uniqueName('test_auth')}:`
  const redis = new Redis(REDIS_URL)
  const keys = async (): Promise<string[]> => await redis.keys(`${prefix}*`)
  t.after(async () => {
    const left = await keys()
    if (left.length > 0) await redis.del(...left)
    await redis.quit()
  })
  return { prefix, keys }
}

/** Two auth instances on one database and one Redis prefix. */
async function twoInstances (t: Tap, env: Record<string, string> = {}) {
  const { prefix, keys } = await redisPrefix(t)
  const shared = { REDIS_URL, REDIS_PREFIX: prefix, ...env }
  const a = await build(t, { env: shared })
  const b = await build(t, { env: shared, databaseUrl: a.databaseUrl })
  return { a: a.app, b: b.app, keys, prefix }
}

t.test('failed logins spread over two instances meet the per-pair limit at the same count as one instance', async (t) => {
  const { a, b, keys, prefix } = await twoInstances(t)
  const victim = newUser()
  await register(a, victim)
  const attacker = from('198.51.100.66')
  for (let i = 1; i <= 5; i++) {
    const app = i % 2 === 1 ? a : b
    t.equal((await login(app, victim.username, `wrong-${i}`, attacker)).statusCode, 401, `failure ${i} on instance ${i % 2 === 1 ? 'a' : 'b'}`)
  }
  const onA = await login(a, victim.username, 'wrong-6', attacker)
  t.equal(onA.statusCode, 429, 'the 6th on a (which saw only 3) is throttled')
  t.ok(Number(onA.headers['retry-after']) >= 1 && Number(onA.headers['retry-after']) <= 60, `Retry-After ${String(onA.headers['retry-after'])}`)
  t.equal((await login(b, victim.username, 'wrong-7', attacker)).statusCode, 429, 'and on b (which saw 2)')
  t.equal((await login(b, victim.username, victim.password, from('203.0.113.10'))).statusCode, 200, 'the owner from another address logs in')
  const stored = await keys()
  t.ok(stored.length > 0 && stored.every((k) => k.startsWith(prefix)), `the counters are in Redis under the prefix (${stored.length} keys)`)
  t.ok(stored.some((k) => k.startsWith(`${prefix}rl:login:pair:`)), 'the pair counter among them')
})

t.test('the account-wide limit is shared, and so are the owner\'s familiar addresses', async (t) => {
  const { a, b } = await twoInstances(t, { LOGIN_MAX_PER_ACCOUNT: '2', LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES: '6' })
  const victim = newUser()
  await register(a, victim)
  const home = from('192.0.2.1')
  t.equal((await login(a, victim.username, victim.password, home)).statusCode, 200, 'the owner logs in from home, through a')
  for (let n = 1; n <= 6; n++) {
    const app = n % 2 === 1 ? a : b
    t.equal((await login(app, victim.username, `wrong-${n}`, from(`198.51.100.${Math.ceil(n / 2)}`))).statusCode, 401, `account failure ${n}`)
  }
  t.equal((await login(a, victim.username, 'wrong-7', from('198.51.100.50'))).statusCode, 429, 'the 7th for the account is throttled on a')
  t.equal((await login(b, victim.username, victim.password, from('198.51.100.51'))).statusCode, 429, 'and on b, right password from a new address')
  t.equal((await login(b, victim.username, victim.password, home)).statusCode, 200, 'the owner from home gets in through b, which never saw that login')
})

t.test('the registration limit is shared too', async (t) => {
  const { a, b } = await twoInstances(t, { REGISTER_MAX_PER_IP: '3' })
  const address = from('198.51.100.77')
  const codes: number[] = []
  for (let i = 0; i < 4; i++) {
    const res = await (i % 2 === 0 ? a : b).inject({ method: 'POST', url: '/api/register/', payload: newUser(), headers: address })
    codes.push(res.statusCode)
  }
  t.same(codes, [201, 201, 201, 429])
})

t.test('without REDIS_URL each instance counts alone (in process)', async (t) => {
  const a = await build(t)
  const b = await build(t, { databaseUrl: a.databaseUrl })
  const victim = newUser()
  await register(a.app, victim)
  const attacker = from('198.51.100.66')
  for (let i = 1; i <= 5; i++) t.equal((await login(a.app, victim.username, `wrong-a${i}`, attacker)).statusCode, 401)
  t.equal((await login(a.app, victim.username, 'wrong-a6', attacker)).statusCode, 429, 'a throttles after its 5')
  t.equal((await login(b.app, victim.username, 'wrong-b1', attacker)).statusCode, 401, 'b has counted nothing')
})

t.test('Redis unreachable: logins work and the limit still holds per instance, with a warning', async (t) => {
  const { prefix } = await redisPrefix(t)
  const unreachable = (await closedUrl()).replace('http://', 'redis://')
  const started = Date.now()
  const { app, logs } = await build(t, { env: { REDIS_URL: unreachable, REDIS_PREFIX: prefix } })
  t.ok(Date.now() - started < 10_000, 'auth starts without Redis')
  const victim = newUser()
  await register(app, victim)
  const attacker = from('198.51.100.66')
  for (let i = 1; i <= 5; i++) t.equal((await login(app, victim.username, `wrong-${i}`, attacker)).statusCode, 401, `failure ${i}: a 401, not a 500`)
  t.equal((await login(app, victim.username, 'wrong-6', attacker)).statusCode, 429, 'the 6th is throttled (counted in process)')
  t.equal((await login(app, victim.username, victim.password, from('203.0.113.10'))).statusCode, 200, 'the owner logs in')
  t.ok(logs.entries().some((l) => l.level === 40 && /Redis unavailable/.test(String(l.msg))), 'a warning says the limits are per instance')
})
