import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import pg from 'pg'
import { createTestDatabase } from '@topup/service-kit/testing'
import { build, decodeJwt, login, newUser, register } from './helper.js'

const run = promisify(execFile)

t.test('staff bootstrap: STAFF_* create a staff user at start, once', async (t) => {
  const staff = { STAFF_USERNAME: 'ops_admin', STAFF_EMAIL: 'Ops@Example.com', STAFF_PASSWORD: 'Correct-Horse-42' }
  const { app, databaseUrl } = await build(t, { env: staff })
  const res = await login(app, 'ops_admin', 'Correct-Horse-42')
  t.equal(res.statusCode, 200)
  t.match(decodeJwt(res.body.access as string).payload, { username: 'ops_admin', email: 'ops@example.com', staff: true })

  // a second start (or instance) creates nothing new and changes nothing
  await build(t, { databaseUrl, env: { ...staff, STAFF_PASSWORD: 'Another-Pass-43' } })
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.after(async () => { await db.end() })
  const { rows } = await db.query('SELECT username, is_staff FROM users')
  t.same(rows, [{ username: 'ops_admin', is_staff: true }])
  t.equal((await login(app, 'ops_admin', 'Correct-Horse-42')).statusCode, 200, 'password unchanged')

  // players are not staff
  const player = newUser()
  await register(app, player)
  t.equal(decodeJwt((await login(app, player.username, player.password)).body.access as string).payload.staff, false)
})

const cli = fileURLToPath(new URL('../src/cli/create-staff.js', import.meta.url)).replace(/\/services\/auth\/(test|src)\/.*$/, '/services/auth/dist/src/cli/create-staff.js')

t.test('create-staff CLI creates, then promotes; bad input exits 1', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'auth_cli')
  const env = { ...process.env, DATABASE_URL: databaseUrl }
  const created = await run(process.execPath, [cli, '--username', 'cli_admin', '--email', 'cli@example.com', '--password', 'Cli-Passw0rd-99'], { env })
  t.match(created.stdout, /^created staff user: cli_admin \([0-9a-f-]{36}\)\n$/)
  t.notMatch(created.stdout + created.stderr, 'Cli-Passw0rd-99')

  const { app } = await build(t, { databaseUrl })
  const player = newUser()
  await register(app, player)
  const promoted = await run(process.execPath, [cli], { env: { ...env, STAFF_USERNAME: player.username, STAFF_EMAIL: player.email, STAFF_PASSWORD: 'Unused-Passw0rd-1' } })
  t.match(promoted.stdout, /^promoted to staff: /)
  const res = await login(app, player.username, player.password)
  t.equal(res.statusCode, 200, 'the password is unchanged')
  t.equal(decodeJwt(res.body.access as string).payload.staff, true)
  const cliLogin = await login(app, 'cli_admin', 'Cli-Passw0rd-99')
  t.equal(decodeJwt(cliLogin.body.access as string).payload.staff, true)

  const weak = await run(process.execPath, [cli, '--username', 'x_admin', '--email', 'x@example.com', '--password', 'short'], { env }).catch((err: { code: number, stderr: string }) => err)
  t.equal((weak as { code?: number }).code, 1)
  t.match((weak as { stderr: string }).stderr, /^create-staff: password: .*10/)
  const taken = await run(process.execPath, [cli, '--username', 'y_admin', '--email', 'CLI@example.com', '--password', 'Cli-Passw0rd-99'], { env }).catch((err: { code: number, stderr: string }) => err)
  t.equal((taken as { code?: number }).code, 1)
  t.match((taken as { stderr: string }).stderr, /email .* belongs to another user/)
  const missing = await run(process.execPath, [cli, '--username', 'z_admin'], { env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl } }).catch((err: { code: number, stderr: string }) => err)
  t.equal((missing as { code?: number }).code, 1)
  t.match((missing as { stderr: string }).stderr, /needs --username, --email and --password/)
})
