import t from 'tap'
import { build } from './helper.js'

t.test('GET /v1/players/:player_id: one answer per row of the behaviour table', async (t) => {
  const { app } = await build(t)

  t.test('an ordinary id is a player called Player<id>, on the server asked for', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/players/5123456789', query: { server: 'asia-1' } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { player_id: '5123456789', server: 'asia-1', nickname: 'Player5123456789' })
  })

  t.test('without ?server= the server is null', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/players/77' })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { player_id: '77', server: null, nickname: 'Player77' })
  })

  t.test('404…: unknown player', async (t) => {
    for (const id of ['404', '40400001', '404abc']) {
      const res = await app.inject({ method: 'GET', url: `/v1/players/${id}`, query: { server: 'eu' } })
      t.equal(res.statusCode, 404, id)
      t.same(res.json(), { error: 'unknown player' }, id)
    }
    // only a prefix counts: 404 elsewhere in the id is an ordinary player
    const res = await app.inject({ method: 'GET', url: '/v1/players/1404' })
    t.equal(res.statusCode, 200)
  })

  t.test('999…: the publisher is down for this player, every time', async (t) => {
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({ method: 'GET', url: '/v1/players/99912' })
      t.equal(res.statusCode, 503)
      t.equal(res.headers['retry-after'], '1')
      t.equal(res.json().statusCode, 503)
    }
  })

  t.test('503…, 504…, 202…: their misbehaviour is in crediting (counted per request id); a lookup answers', async (t) => {
    for (const id of ['50312', '50412', '20212']) {
      const res = await app.inject({ method: 'GET', url: `/v1/players/${id}`, query: { server: 'na' } })
      t.equal(res.statusCode, 200, id)
      t.same(res.json(), { player_id: id, server: 'na', nickname: `Player${id}` }, id)
    }
  })

  t.test('a bad player id or server is a 400 naming it', async (t) => {
    const badId = await app.inject({ method: 'GET', url: `/v1/players/${'1'.repeat(65)}` })
    t.equal(badId.statusCode, 400)
    t.match(badId.json(), { details: [{ field: 'player_id' }] })
    const spaces = await app.inject({ method: 'GET', url: '/v1/players/12%2034' })
    t.equal(spaces.statusCode, 400)
    t.match(spaces.json(), { message: /player_id/, details: [{ field: 'player_id', message: /letters, digits/ }] })
    const badServer = await app.inject({ method: 'GET', url: '/v1/players/12', query: { server: 'asia 1' } })
    t.equal(badServer.statusCode, 400)
    t.match(badServer.json(), { details: [{ field: 'server' }] })
    const emptyServer = await app.inject({ method: 'GET', url: '/v1/players/12?server=' })
    t.equal(emptyServer.statusCode, 400)
    t.match(emptyServer.json(), { details: [{ field: 'server' }] })
  })
})
