import t from 'tap'
import pg from 'pg'
import { createServer, databaseUnavailable, survivePoolClientErrors } from '../src/index.js'
import { createTestDatabase, LogCapture, waitFor } from '../src/testing.js'

t.test('a connection lost while checked out of the pool does not end the process', async (t) => {
  const url = await createTestDatabase(t, 'pool_survival')
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  const warnings: string[] = []
  survivePoolClientErrors(pool, { warn: (_obj, msg) => { warnings.push(msg) } })
  const client = await pool.connect()
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  // what a PostgreSQL restart does to every connection, here to the one in use
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
  await waitFor('the lost connection to be noticed', () => warnings.length > 0, 5000)
  t.ok(warnings.length > 0 && warnings.every((m) => m === 'PostgreSQL connection lost while in use'), 'logged at warn, and the process is still here')
  await t.rejects(client.query('SELECT 1'), 'a query on the lost connection fails')
  client.release(true)
  t.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1, 'the pool goes on with a new connection')
  await admin.end()
  await pool.end()
})

t.test('a request whose database session ends (PostgreSQL restarting) gets a 503 with Retry-After, not a 500', async (t) => {
  const url = await createTestDatabase(t, 'pool_survival_503')
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  survivePoolClientErrors(pool, { warn: () => {} })
  t.teardown(() => pool.end())
  const logs = new LogCapture()
  const app = createServer({ service: 'survival', logStream: logs })
  // 57P01 admin_shutdown on the request's own connection, as every connection gets during a restart
  app.get('/api/lost', async () => { await pool.query('SELECT pg_terminate_backend(pg_backend_pid())'); return {} })
  app.get('/api/bug', async () => { await pool.query('SELECT * FROM no_such_table'); return {} })
  t.teardown(() => app.close())
  const lost = await app.inject({ method: 'GET', url: '/api/lost' })
  t.equal(lost.statusCode, 503)
  t.equal(lost.headers['retry-after'], '1')
  t.match(lost.json(), { statusCode: 503, message: /temporarily unavailable/ })
  t.ok(logs.entries().some((e) => e.level === 40 && e.msg === 'database unavailable; answered 503'), 'logged at warn')
  const bug = await app.inject({ method: 'GET', url: '/api/bug' })
  t.equal(bug.statusCode, 500, 'a statement that is wrong stays a 500')
})

t.test('databaseUnavailable: what counts as the database being away', async (t) => {
  const coded = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code })
  for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300', '40001', '40P01', 'ECONNREFUSED', 'ECONNRESET']) {
    t.ok(databaseUnavailable(coded(code)), code)
  }
  t.ok(databaseUnavailable(new Error('Connection terminated unexpectedly')))
  t.ok(databaseUnavailable(new Error('timeout exceeded when trying to connect')))
  t.ok(databaseUnavailable(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')])), 'every address refused')
  t.ok(databaseUnavailable(new Error('wrapped', { cause: coded('57P01') })), 'through cause')
  for (const code of ['42P01', '23505', '22P02', '42601']) t.notOk(databaseUnavailable(coded(code)), code)
  t.notOk(databaseUnavailable(new Error('boom')))
  t.notOk(databaseUnavailable('57P01'))
  t.notOk(databaseUnavailable(new AggregateError([coded('ECONNREFUSED'), new Error('boom')])), 'not when one is something else')
})
