import t from 'tap'
import { build, login, newUser, register } from './helper.js'

t.test('failed logins are throttled per account', async (t) => {
  const { app } = await build(t)
  const victim = newUser()
  await register(app, victim)
  for (let i = 1; i <= 5; i++) {
    const res = await login(app, victim.username, `wrong-password-${i}`, { 'x-forwarded-for': `198.51.100.${i}` })
    t.equal(res.statusCode, 401, `failure ${i}`)
  }
  const sixth = await login(app, victim.username.toUpperCase(), 'wrong-password-6', { 'x-forwarded-for': '198.51.100.99' })
  t.equal(sixth.statusCode, 429, 'the 6th from yet another address')
  t.match(sixth.body, { statusCode: 429, error: 'Too Many Requests', message: /retry in \d+ seconds/ })
  t.ok(Number(sixth.headers['retry-after']) >= 1 && Number(sixth.headers['retry-after']) <= 60, `Retry-After ${String(sixth.headers['retry-after'])}`)
  t.equal((await login(app, victim.username, victim.password)).statusCode, 429, 'the right password waits for the window too')

  const bystander = newUser()
  await register(app, bystander)
  t.equal((await login(app, bystander.username, bystander.password, { 'x-forwarded-for': '198.51.100.1' })).statusCode, 200, 'another account from the same address')

  const regular = newUser()
  await register(app, regular)
  for (let i = 0; i < 8; i++) {
    t.equal((await login(app, regular.username, regular.password)).statusCode, 200, `successful login ${i + 1} is not counted`)
  }
})

t.test('a burst of parallel guesses cannot pass the limit', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_PER_ACCOUNT: '3' } })
  const user = newUser()
  await register(app, user)
  const results = await Promise.all(Array.from({ length: 10 }, async (_v, i) => await login(app, user.username, `guess-${i}-Aa1!`)))
  const codes = results.map((r) => r.statusCode).sort()
  t.same(codes, [401, 401, 401, 429, 429, 429, 429, 429, 429, 429])
})

t.test('failed logins are throttled per client address (X-Forwarded-For from the gateway), in their own window', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_PER_IP: '3', LOGIN_MAX_PER_ACCOUNT: '100', LOGIN_WINDOW: '1 second' } })
  const attacker = { 'x-forwarded-for': '203.0.113.7' }
  for (let i = 1; i <= 3; i++) {
    t.equal((await login(app, `unknown_${i}`, 'Wrong-password-1', attacker)).statusCode, 401, `failure ${i}`)
  }
  const fourth = await login(app, 'unknown_4', 'Wrong-password-1', attacker)
  t.equal(fourth.statusCode, 429, 'a 4th account from the same address')
  t.equal((await login(app, 'unknown_4', 'Wrong-password-1', { 'x-forwarded-for': '203.0.113.8' })).statusCode, 401, 'another address is its own key')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await login(app, 'unknown_5', 'Wrong-password-1', attacker)).statusCode, 401, 'after the window the address may try again')
})
