import t from 'tap'
import pg from 'pg'
import { survivePoolClientErrors } from '../src/index.js'
import { createTestDatabase, waitFor } from '../src/testing.js'

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
