/**
 * OWASP API1:2023 Broken Object Level Authorization. A player reaches only
 * their own orders, by id or in a list, through the gateway and straight to
 * the orders service (which checks the token's subject itself); staff see
 * every order; ids cannot be guessed or smuggled in another field.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { startPlatform, type Player } from './helpers.js'

interface Order { order_id: string, user_id: string, user_email: string }
interface Page { results: Order[], next_cursor: string | null }

t.test('API1 BOLA: orders belong to their player', async (t) => {
  const platform = await startPlatform(t)
  const alice = await platform.player('alice')
  const bob = await platform.player('bob')
  const place = async (who: Player): Promise<string> => {
    const res = await platform.topup(who.access)
    if (res.status !== 201) throw new Error(`topup: ${res.status} ${res.text}`)
    return res.body.order_id
  }
  const aliceOrders = [await place(alice), await place(alice)]
  const bobOrders = [await place(bob)]
  const bases = { gateway: platform.url, orders: platform.direct.orders }

  for (const [via, baseUrl] of Object.entries(bases)) {
    await t.test(`another player's order by id → 404, like a missing one (${via})`, async (t) => {
      const missing = await platform.http('GET', `/api/orders/${randomUUID()}`, { token: bob.access, baseUrl })
      t.equal(missing.status, 404, 'a random id → 404')
      for (const id of aliceOrders) {
        const own = await platform.http<Order>('GET', `/api/orders/${id}`, { token: alice.access, baseUrl })
        t.equal(own.status, 200, 'the owner reads it')
        t.equal(own.body.user_id, alice.id)
        for (const path of [`/api/orders/${id}`, `/api/orders/${id}/`, `/api/orders/${id.toUpperCase()}`]) {
          const other = await platform.http('GET', path, { token: bob.access, baseUrl })
          t.equal(other.status, 404, `bob on ${path.replace(id, '<alice id>').replace(id.toUpperCase(), '<ALICE ID>')} → 404`)
          t.notMatch(other.text, alice.email, 'nothing of alice in the answer')
          t.same(other.body, missing.body, 'the same answer as a missing order: existence is not revealed')
        }
      }
      // headers a naive service might trust instead of the token
      const spoofed = await platform.http('GET', `/api/orders/${aliceOrders[0] ?? ''}`, {
        token: bob.access,
        baseUrl,
        headers: { 'x-user-id': alice.id, 'x-forwarded-user': alice.username, 'x-staff': 'true', 'x-original-url': '/api/orders/' }
      })
      t.equal(spoofed.status, 404, 'identity headers change nothing')
    })

    await t.test(`lists show only the player's own orders (${via})`, async (t) => {
      const mine = await platform.http<Page>('GET', '/api/orders/?limit=100', { token: alice.access, baseUrl })
      t.equal(mine.status, 200)
      t.same(mine.body.results.map((o) => o.order_id).sort(), [...aliceOrders].sort(), 'alice sees exactly her two orders')
      t.ok(mine.body.results.every((o) => o.user_id === alice.id && o.user_email === alice.email), 'all hers')
      // parameters that might widen the query
      for (const query of [`user_id=${alice.id}`, 'all=true', 'staff=true', `user=${alice.username}`, 'limit=100&user_id[]=*']) {
        const res = await platform.http<Page>('GET', `/api/orders/?${query}`, { token: bob.access, baseUrl })
        t.ok(res.status === 200 || res.status === 400, `bob with ?${query} → ${res.status}`)
        if (res.status === 200) t.same(res.body.results.map((o) => o.order_id), bobOrders, `?${query}: still only bob's order`)
      }
      // a hand-made cursor positioned at alice's order does not switch owner
      const alicesOrder = (await platform.orders[0]?.db.selectFrom('orders').select(['id', 'created_at']).where('id', '=', aliceOrders[1] ?? '').executeTakeFirstOrThrow())
      if (alicesOrder === undefined) throw new Error('no order row')
      const future = new Date(alicesOrder.created_at.getTime() + 60_000).toISOString()
      const cursor = Buffer.from(JSON.stringify([future, 'ffffffff-ffff-4fff-bfff-ffffffffffff'])).toString('base64url')
      const paged = await platform.http<Page>('GET', `/api/orders/?cursor=${cursor}`, { token: bob.access, baseUrl })
      t.equal(paged.status, 200, 'a well-formed cursor is accepted')
      t.same(paged.body.results.map((o) => o.order_id), bobOrders, 'and still lists only bob\'s order')
    })

    await t.test(`staff see every order (${via})`, async (t) => {
      const all = await platform.http<Page>('GET', '/api/orders/?limit=100', { token: platform.staffToken, baseUrl })
      t.equal(all.status, 200)
      t.same(all.body.results.map((o) => o.order_id).sort(), [...aliceOrders, ...bobOrders].sort(), 'all three orders')
      const one = await platform.http<Order>('GET', `/api/orders/${bobOrders[0] ?? ''}`, { token: platform.staffToken, baseUrl })
      t.equal(one.status, 200, 'and any one by id')
      t.equal(one.body.user_id, bob.id)
    })

    await t.test(`guessed and malformed ids never find an order (${via})`, async (t) => {
      const guesses = ['1', '0', '-1', 'null', 'undefined', '*', '%2A', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
        `${aliceOrders[0] ?? ''}x`, (aliceOrders[0] ?? '').slice(0, 35), `${aliceOrders[0] ?? ''}%00`, "' OR '1'='1", `{${aliceOrders[0] ?? ''}}`, `urn:uuid:${aliceOrders[0] ?? ''}`]
      for (const guess of guesses) {
        const res = await platform.http('GET', `/api/orders/${encodeURIComponent(guess).replace(/%25/g, '%')}`, { token: bob.access, baseUrl })
        t.ok(res.status === 400 || res.status === 404, `GET /api/orders/${guess} → ${res.status}`)
        t.notMatch(res.text, alice.email, 'nothing of alice')
      }
      // thirty random ids: none exists, every one a 404 (no oracle)
      const statuses = new Set<number>()
      for (let i = 0; i < 30; i++) statuses.add((await platform.http('GET', `/api/orders/${randomUUID()}`, { token: bob.access, baseUrl })).status)
      t.same([...statuses], [404], '30 random ids → 404 each')
    })
  }

  await t.test('a player cannot touch another player\'s order with other methods', async (t) => {
    for (const method of ['PATCH', 'PUT', 'DELETE', 'POST']) {
      const res = await platform.http(method, `/api/orders/${aliceOrders[0] ?? ''}`, { token: bob.access, body: { status: 'failed', user_id: bob.id } })
      t.ok([400, 404, 405].includes(res.status), `${method} on alice's order → ${res.status}`)
    }
    const row = await platform.orders[0]?.db.selectFrom('orders').select(['status', 'user_id']).where('id', '=', aliceOrders[0] ?? '').executeTakeFirstOrThrow()
    t.same(row, { status: 'pending', user_id: alice.id }, 'alice\'s order is unchanged')
  })
})
