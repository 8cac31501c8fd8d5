import t from 'tap'
import { sql } from 'kysely'
import { build, credit, creditBody, ledger, status, UUID } from './helper.js'

t.test('POST /v1/credits', async (t) => {
  const { app } = await build(t)

  t.test('an ordinary player is credited at once; the ledger has the credit', async (t) => {
    const body = creditBody('5123456789', { amount: '500 UC', server: 'asia-1', order_id: 'order-a' })
    const before = Date.now()
    const res = await credit(app, body)
    t.equal(res.statusCode, 200)
    t.same(Object.keys(res.body).sort(), ['amount', 'credit_id', 'credited_at', 'player_id', 'request_id', 'status'])
    t.match(res.body, { request_id: body.request_id, status: 'credited', player_id: '5123456789', amount: '500 UC' })
    t.match(res.body.credit_id, UUID)
    const at = Date.parse(res.body.credited_at as string)
    t.ok(at >= before - 5000 && at <= Date.now() + 5000, 'credited_at is now')
    t.notOk(res.headers['idempotent-replayed'], 'a first credit is not a replay')
    t.same(await ledger(app, '5123456789'), [{
      credit_id: res.body.credit_id,
      request_id: body.request_id,
      player_id: '5123456789',
      server: 'asia-1',
      amount: '500 UC',
      order_id: 'order-a',
      credited_at: res.body.credited_at
    }])
  })

  t.test('server and order_id are optional', async (t) => {
    const res = await credit(app, { request_id: 'bare-1', player_id: '61', amount: '60 Diamonds' })
    t.equal(res.statusCode, 200)
    t.match(await ledger(app, '61'), [{ request_id: 'bare-1', server: null, order_id: null, amount: '60 Diamonds' }])
  })

  t.test('a repeat answers the first result and credits nothing more', async (t) => {
    const body = creditBody('62')
    const first = await credit(app, body)
    t.equal(first.statusCode, 200)
    for (let i = 0; i < 3; i++) {
      const again = await credit(app, body)
      t.equal(again.statusCode, 200)
      t.same(again.body, first.body, 'the first credit, same id and time')
      t.equal(again.headers['idempotent-replayed'], 'true')
    }
    // the same fields in another order are the same body
    const reordered = await credit(app, { order_id: body.order_id, amount: body.amount, server: body.server, player_id: body.player_id, request_id: body.request_id })
    t.same(reordered.body, first.body)
    t.equal((await ledger(app, '62')).length, 1, 'one ledger row')
  })

  t.test('20 concurrent identical calls credit once', async (t) => {
    const body = creditBody('63')
    const answers = await Promise.all(Array.from({ length: 20 }, async () => await credit(app, body)))
    t.same(answers.map((a) => a.statusCode), Array(20).fill(200))
    const ids = new Set(answers.map((a) => a.body.credit_id))
    t.equal(ids.size, 1, 'every answer names the same credit')
    t.equal(answers.filter((a) => a.headers['idempotent-replayed'] === undefined).length, 1, 'exactly one made it')
    const rows = await ledger(app, '63')
    t.equal(rows.length, 1, 'one ledger row')
    t.equal(rows[0]?.credit_id, [...ids][0])
    t.match((await status(app, body.request_id)).body, { status: 'credited', calls: 20 })
  })

  t.test('the same request id with a different body: 409, nothing credited or counted', async (t) => {
    const body = creditBody('64')
    const first = await credit(app, body)
    t.equal(first.statusCode, 200)
    const variants = [
      { ...body, amount: '600 UC' },
      { ...body, player_id: '65' },
      { ...body, server: 'eu-1' },
      { ...body, order_id: 'another-order' },
      { request_id: body.request_id, player_id: body.player_id, amount: body.amount, order_id: body.order_id } // server left out
    ]
    for (const variant of variants) {
      const res = await credit(app, variant)
      t.equal(res.statusCode, 409, JSON.stringify(variant))
      t.match(res.body, { statusCode: 409, message: /request_id was already used with a different body/, details: [{ field: 'request_id' }] })
    }
    t.equal((await ledger(app, '64')).length, 1)
    t.same(await ledger(app, '65'), [])
    t.match((await status(app, body.request_id)).body, { status: 'credited', credit_id: first.body.credit_id, amount: '500 UC', calls: 1 })
    // the first body still answers its credit
    t.same((await credit(app, body)).body, first.body)
  })

  t.test('a different body is a 409 before any outcome too (the id belongs to its first body)', async (t) => {
    const body = creditBody('50366') // 503: the first call has no outcome
    t.equal((await credit(app, body)).statusCode, 503)
    t.equal((await credit(app, { ...body, amount: '1 UC' })).statusCode, 409)
    t.match((await status(app, body.request_id)).body, { status: 'unknown', calls: 1 })
  })

  t.test('404…: refused for good, recorded, never credited', async (t) => {
    const body = creditBody('40477')
    const res = await credit(app, body)
    t.equal(res.statusCode, 422)
    t.same(res.body, { request_id: body.request_id, status: 'refused', reason: 'unknown player' })
    const again = await credit(app, body)
    t.equal(again.statusCode, 422)
    t.same(again.body, res.body)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.same(await ledger(app, '40477'), [])
    t.same((await status(app, body.request_id)).body, { request_id: body.request_id, status: 'refused', reason: 'unknown player', calls: 2 })
  })

  t.test('503…: a 503 with Retry-After: 1 for the first two calls of each request id, then credited', async (t) => {
    const body = creditBody('50378')
    for (const call of [1, 2]) {
      const res = await credit(app, body)
      t.equal(res.statusCode, 503, `call ${call}`)
      t.equal(res.headers['retry-after'], '1')
      t.match(res.body, { statusCode: 503, message: /temporarily unavailable/ })
      t.same(await ledger(app, '50378'), [], `nothing credited after call ${call}`)
      t.same((await status(app, body.request_id)).body, { request_id: body.request_id, status: 'unknown', calls: call })
    }
    const third = await credit(app, body)
    t.equal(third.statusCode, 200)
    t.match(third.body, { status: 'credited', request_id: body.request_id })
    const fourth = await credit(app, body)
    t.same(fourth.body, third.body, 'later calls answer the credit')
    t.equal((await ledger(app, '50378')).length, 1)
    // the count is per request id: another id of the same player starts again
    const other = creditBody('50378')
    t.equal((await credit(app, other)).statusCode, 503)
  })

  t.test('999…: a 503 for every call, always; nothing credited', async (t) => {
    const body = creditBody('99901')
    for (let call = 1; call <= 6; call++) {
      const res = await credit(app, body)
      t.equal(res.statusCode, 503, `call ${call}`)
      t.equal(res.headers['retry-after'], '1')
    }
    t.same(await ledger(app, '99901'), [])
    t.same((await status(app, body.request_id)).body, { request_id: body.request_id, status: 'unknown', calls: 6 })
  })

  t.test('the outcome and its ledger row are one: no outcome without its credit, no credit without its outcome', async (t) => {
    const orphans = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM credit_outcomes o LEFT JOIN credits c USING (request_id)
      WHERE (o.status = 'credited') <> (c.request_id IS NOT NULL)`.execute(app.db)
    t.equal(orphans.rows[0]?.n, 0)
    const perRequest = await sql<{ n: number }>`SELECT count(*)::int AS n FROM credits GROUP BY request_id HAVING count(*) > 1`.execute(app.db)
    t.same(perRequest.rows, [], 'never two credits for one request id')
  })
})

t.test('GET /v1/credits/:request_id', async (t) => {
  const { app } = await build(t)

  t.test('credited: the credit', async (t) => {
    const body = creditBody('71')
    const made = await credit(app, body)
    const res = await status(app, body.request_id)
    t.equal(res.statusCode, 200)
    t.same(res.body, { ...made.body, calls: 1 })
  })

  t.test('refused: the refusal', async (t) => {
    const body = creditBody('40471')
    await credit(app, body)
    const res = await status(app, body.request_id)
    t.equal(res.statusCode, 200)
    t.same(res.body, { request_id: body.request_id, status: 'refused', reason: 'unknown player', calls: 1 })
  })

  t.test('never seen: 404 unknown', async (t) => {
    const res = await status(app, 'never-sent')
    t.equal(res.statusCode, 404)
    t.same(res.body, { request_id: 'never-sent', status: 'unknown', calls: 0 })
  })

  t.test('seen but never credited: 404 unknown, with its calls', async (t) => {
    const body = creditBody('99971')
    await credit(app, body)
    const res = await status(app, body.request_id)
    t.equal(res.statusCode, 404)
    t.same(res.body, { request_id: body.request_id, status: 'unknown', calls: 1 })
  })

  t.test('asking counts no call', async (t) => {
    const body = creditBody('50371')
    await credit(app, body)
    for (let i = 0; i < 3; i++) await status(app, body.request_id)
    t.equal((await credit(app, body)).statusCode, 503, 'the second call is still one of the first two')
    t.equal((await credit(app, body)).statusCode, 200)
  })
})

t.test('GET /v1/ledger: every credit oldest first, one player\'s with ?player_id=', async (t) => {
  const { app } = await build(t)
  t.same(await ledger(app), [], 'empty to begin with')
  const made: string[] = []
  for (const player of ['81', '82', '81', '82', '81']) {
    const res = await credit(app, creditBody(player))
    made.push(res.body.request_id as string)
  }
  await credit(app, creditBody('40481'))
  await credit(app, creditBody('99981'))
  const all = await ledger(app)
  t.same(all.map((c) => c.request_id), made, 'in the order they were made; refusals and 503s are not credits')
  const times = all.map((c) => Date.parse(c.credited_at))
  t.same(times, [...times].sort((a, b) => a - b), 'oldest first')
  t.same((await ledger(app, '81')).map((c) => c.request_id), [made[0], made[2], made[4]])
  t.same(await ledger(app, 'nobody'), [])
  const bad = await app.inject({ method: 'GET', url: '/v1/ledger', query: { player_id: 'a b' } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { details: [{ field: 'player_id' }] })
})
