import t from 'tap'
import { build, login, newUser, register } from './helper.js'

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

t.test('login tells an unknown user from a wrong password neither by answer nor by time', async (t) => {
  const { app } = await build(t, { env: { LOGIN_MAX_PER_ACCOUNT: '100', LOGIN_MAX_PER_IP: '100' } })
  const user = newUser()
  await register(app, user)

  const wrong = await login(app, user.username, 'Wrong-password-1')
  const unknown = await login(app, `nobody_${Date.now().toString(36)}`, 'Wrong-password-1')
  t.equal(wrong.statusCode, 401)
  t.equal(unknown.statusCode, 401)
  t.same(unknown.body, wrong.body, 'the same body')
  t.same(wrong.body, { statusCode: 401, error: 'Unauthorized', message: 'Invalid username or password.' })
  const shape = (headers: Record<string, unknown>): string[] => Object.keys(headers).filter((h) => h !== 'date' && h !== 'x-request-id').sort()
  t.same(shape(unknown.headers), shape(wrong.headers), 'the same headers')
  t.equal(unknown.headers['content-length'], wrong.headers['content-length'])

  // An unknown user is verified against a dummy argon2 hash: skipping argon2 would answer in
  // well under a tenth of the time. Interleaved, so a busy machine slows both alike.
  const wrongTimes: number[] = []
  const unknownTimes: number[] = []
  for (let i = 0; i < 7; i++) {
    let start = performance.now()
    t.equal((await login(app, user.username, `Wrong-password-${i}`)).statusCode, 401)
    wrongTimes.push(performance.now() - start)
    start = performance.now()
    t.equal((await login(app, `nobody_${i}_${Date.now().toString(36)}`, `Wrong-password-${i}`)).statusCode, 401)
    unknownTimes.push(performance.now() - start)
  }
  const ratio = median(unknownTimes) / median(wrongTimes)
  t.ok(ratio > 0.4 && ratio < 2.5, `unknown user ${median(unknownTimes).toFixed(1)} ms vs wrong password ${median(wrongTimes).toFixed(1)} ms (ratio ${ratio.toFixed(2)})`)
})

t.test('registration keeps its 409 for a taken email or username (the documented trade-off)', async (t) => {
  const { app } = await build(t)
  const first = newUser()
  await register(app, first)
  const email = await app.inject({ method: 'POST', url: '/api/register/', payload: newUser({ email: first.email }) })
  t.equal(email.statusCode, 409)
  t.match(email.json(), { statusCode: 409, details: [{ field: 'email', message: 'is already taken' }] })
  const username = await app.inject({ method: 'POST', url: '/api/register/', payload: newUser({ username: first.username }) })
  t.equal(username.statusCode, 409)
  t.match(username.json(), { statusCode: 409, details: [{ field: 'username', message: 'is already taken' }] })
})
