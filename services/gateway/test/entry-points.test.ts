/** `GET /` on the public port says where to start, as a page for a browser and as JSON for anything else. */
import t from 'tap'
import { ENTRY_POINTS } from '../src/entry-points.js'
import { startAll } from './helper.js'

t.test('GET / lists the public entry points', async (t) => {
  const { url } = await startAll(t)
  const json = await fetch(`${url}/`)
  t.equal(json.status, 200)
  t.match(json.headers.get('content-type'), /^application\/json/)
  const body = await json.json() as { entry_points: Array<{ path: string }> }
  t.same(body.entry_points.map((e) => e.path), ENTRY_POINTS.map((e) => e.path))
  t.ok(body.entry_points.some((e) => e.path === '/api/docs/') && body.entry_points.some((e) => e.path === '/api/dashboard/'), 'the API reference and the dashboard among them')

  const html = await fetch(`${url}/`, { headers: { accept: 'text/html,application/xhtml+xml' } })
  t.equal(html.status, 200)
  t.match(html.headers.get('content-type'), /^text\/html/)
  t.match(html.headers.get('content-security-policy'), /default-src 'none'/, 'a page with no script and no style of its own')
  const text = await html.text()
  for (const e of ENTRY_POINTS) t.match(text, `<a href="${e.path}">`, `links ${e.path}`)
  t.notMatch(text, /<script/)

  const unknown = await fetch(`${url}/nothing-here`)
  t.equal(unknown.status, 404, 'other paths are still a 404')
})
