/**
 * The start entry as an operator runs it (`node sandboxes/publisher/dist/src/server.js`,
 * built first): it creates and migrates its database, answers, and stops on SIGTERM.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import pg from 'pg'
import { freeLowPort, postgresAdminUrl, uniqueName, waitFor } from '@topup/service-kit/testing'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const SERVER = join(ROOT, 'sandboxes', 'publisher', 'dist', 'src', 'server.js')

t.test('node dist/src/server.js: its own database created at start, PORT, SIGTERM', async (t) => {
  const admin = await postgresAdminUrl()
  const name = uniqueName('publisher_sandbox_start').toLowerCase()
  const url = new URL(admin)
  url.pathname = `/${name}`
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: admin })
    await client.connect()
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`)
    await client.end()
  })
  const port = await freeLowPort()
  const child = spawn(process.execPath, [SERVER], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', PORT: String(port), DATABASE_URL: url.toString(), SLOW_MS: '50' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  const exited = once(child, 'exit')
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  const base = `http://127.0.0.1:${port}`
  await waitFor('the sandbox to be ready', async () => {
    if (child.exitCode !== null) throw new Error(`the sandbox exited: ${output}`)
    try { return (await fetch(`${base}/ready`, { signal: AbortSignal.timeout(1000) })).status === 200 } catch { return false }
  }, 30_000)

  const res = await fetch(`${base}/v1/credits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: 'start-1', player_id: '1', amount: '500 UC' }),
    signal: AbortSignal.timeout(5000)
  })
  t.equal(res.status, 200)
  t.match(await res.json(), { status: 'credited' })
  t.match(output, /"service":"publisher-sandbox"/, 'logs are the platform\'s JSON lines')
  t.match(output, /migrations applied/)

  child.kill('SIGTERM')
  const [code] = await exited
  t.equal(code, 0, 'exits 0 on SIGTERM')
})
