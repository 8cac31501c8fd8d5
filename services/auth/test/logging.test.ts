import t from 'tap'
import { LogCapture } from '@topup/service-kit/testing'
import { build, login, newUser, register } from './helper.js'

t.test('neither passwords nor tokens reach the logs', async (t) => {
  const logs = new LogCapture()
  const { app } = await build(t, { logs, env: { LOG_LEVEL: 'trace' } })
  const user = newUser()
  const secrets: string[] = [user.password]
  await register(app, user)
  const wrongPassword = 'Wr0ng-but-secret-9'
  secrets.push(wrongPassword)
  t.equal((await login(app, user.username, wrongPassword)).statusCode, 401)
  const session = await login(app, user.username, user.password)
  t.equal(session.statusCode, 200)
  const access = session.body.access as string
  const refresh = session.body.refresh as string
  secrets.push(access, refresh)
  t.equal((await app.inject({ method: 'GET', url: '/api/profile/', headers: { authorization: `Bearer ${access}` } })).statusCode, 200)
  const rotated = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
  t.equal(rotated.statusCode, 200)
  const next = rotated.json<{ access: string, refresh: string }>()
  secrets.push(next.access, next.refresh)
  t.equal((await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })).statusCode, 401, 'reuse')
  t.equal((await app.inject({ method: 'POST', url: '/api/logout/', payload: { refresh: next.refresh } })).statusCode, 204)
  // a body that fails to parse or validate must not be echoed either
  const brokenSecret = 'Br0ken-json-secret-7'
  secrets.push(brokenSecret)
  const broken = await app.inject({ method: 'POST', url: '/api/token/', headers: { 'content-type': 'application/json' }, payload: `{"username": "${user.username}", "password": "${brokenSecret}"` })
  t.equal(broken.statusCode, 400)
  t.notMatch(broken.body, brokenSecret, 'not in the response either')
  const weak = 'weakpassword'
  secrets.push(weak)
  t.equal((await app.inject({ method: 'POST', url: '/api/register/', payload: newUser({ password: weak }) })).statusCode, 400)

  t.ok(logs.lines.length > 10, `${logs.lines.length} log lines captured`)
  t.ok(logs.entries().some((e) => e.msg === 'logged in'), 'the capture does hold the login')
  for (const secret of secrets) {
    t.notOk(logs.text.includes(secret), `not logged: ${secret.slice(0, 6)}…`)
  }
})
