import t from 'tap'
import { build, login, newUser, register } from './helper.js'

const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address })

t.test('an attacker failing for someone else locks out only itself: the owner from another address logs in', async (t) => {
  const { app } = await build(t)
  const victim = newUser()
  await register(app, victim)
  const attacker = from('198.51.100.66')
  for (let i = 1; i <= 5; i++) {
    t.equal((await login(app, victim.username, `wrong-password-${i}`, attacker)).statusCode, 401, `attacker failure ${i}`)
  }
  const sixth = await login(app, victim.username.toUpperCase(), 'wrong-password-6', attacker)
  t.equal(sixth.statusCode, 429, 'the attacker\'s 6th guess for that account (any case) is throttled')
  t.match(sixth.body, { statusCode: 429, error: 'Too Many Requests', message: /retry in \d+ seconds/ })
  t.ok(Number(sixth.headers['retry-after']) >= 1 && Number(sixth.headers['retry-after']) <= 60, `Retry-After ${String(sixth.headers['retry-after'])}`)
  t.equal((await login(app, victim.username, victim.password, attacker)).statusCode, 429, 'from the attacker\'s address even the right password waits for the window')

  const owner = await login(app, victim.username, victim.password, from('203.0.113.10'))
  t.equal(owner.statusCode, 200, 'the owner from their own address still logs in')
  t.type(owner.body.access, 'string')
  t.equal((await login(app, victim.username, victim.password)).statusCode, 200, 'and from yet another address')

  const bystander = newUser()
  await register(app, bystander)
  t.equal((await login(app, bystander.username, bystander.password, attacker)).statusCode, 200, 'another account from the attacker\'s address (below the per-address limit)')

  const regular = newUser()
  await register(app, regular)
  for (let i = 0; i < 8; i++) {
    t.equal((await login(app, regular.username, regular.password)).statusCode, 200, `successful login ${i + 1} is not counted`)
  }
})

// Rule change (issue 9): this used to be "5 failures from 5 addresses lock the account for everyone".
// Failures are now counted per (account, address) pair, so 6 addresses × 5 failures are all plain 401s;
// only the much higher account-wide limit (next tests) stops a guesser spread over many addresses.
t.test('failures from different addresses do not add up to the per-pair limit', async (t) => {
  const { app } = await build(t)
  const victim = newUser()
  await register(app, victim)
  for (let a = 1; a <= 6; a++) {
    for (let i = 1; i <= 5; i++) {
      t.equal((await login(app, victim.username, `wrong-${a}-${i}`, from(`198.51.100.${a}`))).statusCode, 401, `address ${a}, failure ${i}`)
    }
  }
  t.equal((await login(app, victim.username, 'wrong-again', from('198.51.100.1'))).statusCode, 429, 'each address still has its own 5')
  t.equal((await login(app, victim.username, victim.password, from('198.51.100.7'))).statusCode, 200, 'the owner is not locked out')
})

t.test('a guesser spread over many addresses meets the account-wide limit; the owner\'s familiar address does not', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_PER_ACCOUNT: '2', LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES: '6' } })
  const victim = newUser()
  await register(app, victim)
  const home = from('192.0.2.1')
  t.equal((await login(app, victim.username, victim.password, home)).statusCode, 200, 'the owner logs in from home once')

  for (let a = 1; a <= 3; a++) {
    for (let i = 1; i <= 2; i++) {
      t.equal((await login(app, victim.username, `wrong-${a}-${i}`, from(`198.51.100.${a}`))).statusCode, 401, `address ${a}, failure ${i}`)
    }
  }
  const fresh = await login(app, victim.username, 'wrong-fresh', from('198.51.100.50'))
  t.equal(fresh.statusCode, 429, 'the 7th failure for the account, from a new address, is throttled')
  t.ok(Number(fresh.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal((await login(app, victim.username, victim.password, from('198.51.100.51'))).statusCode, 429, 'a new address waits even with the right password')
  t.equal((await login(app, victim.username, victim.password, home)).statusCode, 200, 'the owner from the address they logged in from before still gets in')

  const other = newUser()
  await register(app, other)
  t.equal((await login(app, other.username, other.password, from('198.51.100.50'))).statusCode, 200, 'the limit is per account: another account from the same address')
})

t.test('a burst of parallel guesses from one address cannot pass the per-pair limit', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_PER_ACCOUNT: '3' } })
  const user = newUser()
  await register(app, user)
  const results = await Promise.all(Array.from({ length: 10 }, async (_v, i) => await login(app, user.username, `guess-${i}-Aa1!`)))
  const codes = results.map((r) => r.statusCode).sort()
  t.same(codes, [401, 401, 401, 429, 429, 429, 429, 429, 429, 429])
})

t.test('a burst of parallel guesses from many addresses cannot pass the account-wide limit', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_PER_ACCOUNT: '3', LOGIN_MAX_PER_ACCOUNT_ALL_ADDRESSES: '4' } })
  const user = newUser()
  await register(app, user)
  const results = await Promise.all(Array.from({ length: 12 }, async (_v, i) => await login(app, user.username, `guess-${i}-Aa1!`, from(`198.51.100.${i + 1}`))))
  const codes = results.map((r) => r.statusCode).sort()
  t.same(codes, [401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429, 429])
})

t.test('failed logins are throttled per client address (X-Forwarded-For from the gateway), in their own window', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_PER_IP: '3', LOGIN_MAX_PER_ACCOUNT: '100', LOGIN_WINDOW: '1 second' } })
  const attacker = from('203.0.113.7')
  for (let i = 1; i <= 3; i++) {
    t.equal((await login(app, `unknown_${i}`, 'Wrong-password-1', attacker)).statusCode, 401, `failure ${i}`)
  }
  const fourth = await login(app, 'unknown_4', 'Wrong-password-1', attacker)
  t.equal(fourth.statusCode, 429, 'a 4th account from the same address')
  t.ok(Number(fourth.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal((await login(app, 'unknown_4', 'Wrong-password-1', from('203.0.113.8'))).statusCode, 401, 'another address is its own key')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await login(app, 'unknown_5', 'Wrong-password-1', attacker)).statusCode, 401, 'after the window the address may try again')
})

t.test('IPv6 addresses of one /64 share their per-address limit', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_PER_IP: '2', LOGIN_MAX_PER_ACCOUNT: '100' } })
  t.equal((await login(app, 'unknown_a', 'Wrong-password-1', from('2001:db8:1:2::1'))).statusCode, 401)
  t.equal((await login(app, 'unknown_b', 'Wrong-password-1', from('2001:db8:1:2::2'))).statusCode, 401)
  t.equal((await login(app, 'unknown_c', 'Wrong-password-1', from('2001:db8:1:2:ffff::3'))).statusCode, 429, 'rotating within the /64 does not help')
  t.equal((await login(app, 'unknown_c', 'Wrong-password-1', from('2001:db8:1:3::1'))).statusCode, 401, 'another /64 is its own key')
})
