import t from 'tap'
import { createTestDatabase } from '@topup/service-kit/testing'
import { build, credit, creditBody, ledger, status } from './helper.js'

t.test('the 503 counter is kept in the database: it survives a restart', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'publisher_sandbox')
  const body = creditBody('50391')

  const first = await build(t, { databaseUrl })
  t.equal((await credit(first.app, body)).statusCode, 503, 'call 1 (first sandbox)')
  await first.app.close()

  const second = await build(t, { databaseUrl })
  t.equal((await credit(second.app, body)).statusCode, 503, 'call 2 (after the restart): still one of the first two')
  const third = await credit(second.app, body)
  t.equal(third.statusCode, 200, 'call 3 credits')
  await second.app.close()

  const after = await build(t, { databaseUrl })
  t.same((await credit(after.app, body)).body, third.body, 'a repeat after another restart answers the same credit')
  t.equal((await ledger(after.app, '50391')).length, 1)
})

t.test('two sandboxes on one database count together and credit once', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'publisher_sandbox')
  const a = await build(t, { databaseUrl })
  const b = await build(t, { databaseUrl })

  const body = creditBody('50392')
  t.equal((await credit(a.app, body)).statusCode, 503, 'call 1 on a')
  t.equal((await credit(b.app, body)).statusCode, 503, 'call 2 on b')
  const credited = await credit(a.app, body)
  t.equal(credited.statusCode, 200, 'call 3 on a')
  t.same((await credit(b.app, body)).body, credited.body, 'b answers a\'s credit')
  t.match((await status(b.app, body.request_id)).body, { status: 'credited', calls: 4 })

  // 20 concurrent identical calls spread over both: one credit
  const same = creditBody('93')
  const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => await credit(i % 2 === 0 ? a.app : b.app, same)))
  t.same(answers.map((r) => r.statusCode), Array(20).fill(200))
  t.equal(new Set(answers.map((r) => r.body.credit_id)).size, 1)
  t.equal((await ledger(a.app, '93')).length, 1)
})
