// Profiles the CSV export beside `psql \copy` of the same rows, in one run (so
// the ratio holds on a noisy machine). Not a test: a tool to find where the
// export spends its time.
//
//   npm run build && node services/analytics/scripts/profile-export.mjs [rows=300000] [runs=3]
//   ANALYTICS_DIST=/path/to/an/older/dist node services/analytics/scripts/profile-export.mjs   (before/after)
//
// Builds the analytics app (from dist) on a throwaway database filled with
// `rows` orders by generate_series, then alternates `runs` times: psql \copy of
// the export's own query to STDOUT as quoted CSV, and GET /api/export/orders/
// over HTTP with curl; both piped into wc -c. Prints rows/s of each and their ratio, writes a CPU
// profile of the last export (export.cpuprofile, open it in Chrome DevTools)
// and the functions with the most self time in it.
import { spawn } from 'node:child_process'
import { Session } from 'node:inspector/promises'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { createTestDatabase, startTestTokenIssuer, rabbitUrl, uniqueName, STAFF_ID } from '@topup/service-kit/testing'
import { deleteTopologyAt } from '@topup/messaging'

// ANALYTICS_DIST: another build of the service to profile (e.g. an older one, for before/after)
const dist = process.env.ANALYTICS_DIST ?? fileURLToPath(new URL('../dist/', import.meta.url))
const { buildApp } = await import(`${dist}/src/app.js`)
const { loadAnalyticsConfig } = await import(`${dist}/src/config.js`)
const { exportQuery } = await import(`${dist}/src/db/export.js`)

const ROWS = Number(process.argv[2] ?? 300_000)
const RUNS = Number(process.argv[3] ?? 3)
const PROFILE = fileURLToPath(new URL('../export.cpuprofile', import.meta.url))

const cleanups = []
const t = { teardown: (fn) => { cleanups.unshift(fn) } }
try {
  const databaseUrl = await createTestDatabase(t, 'analytics_export_profile')
  const issuer = await startTestTokenIssuer(t)
  const amqpUrl = await rabbitUrl()
  const prefix = `${uniqueName('analytics')}.`
  const config = loadAnalyticsConfig({ NODE_ENV: 'test', LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl, AMQP_URL: amqpUrl, BROKER_PREFIX: prefix, AUTH_URL: issuer.jwksBaseUrl })
  const app = await buildApp(config)
  t.teardown(async () => { await app.close(); await deleteTopologyAt(amqpUrl, prefix, ['analytics']) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.server.address().port
  const authorization = `Bearer ${issuer.token({ sub: STAFF_ID, staff: true }, { expiresInSeconds: 3600 })}`

  // one row in 1000 has a formula, one in 500 quotes, a comma and a line break
  await sql`
    INSERT INTO order_facts (order_id, transaction_id, user_id, user_email, game_id, game_code, game_name, product_id, product_name, amount, currency, status, created_at)
    SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'user' || i || '@players.test', 1 + i % 3, 'g' || i % 3, 'Game ' || i % 3,
           10 + i % 7, CASE WHEN i % 1000 = 0 THEN '=cmd|'' /C calc''!A0' WHEN i % 500 = 0 THEN 'Gems, "big"' || chr(10) || 'pack' ELSE 'Product ' || i % 7 END,
           (100 + i % 900)::numeric(12,2), 'INR', (ARRAY['pending', 'success', 'failed'])[1 + i % 3], timestamptz '2026-01-01' + i * interval '13 seconds'
      FROM generate_series(1, ${ROWS}) AS i`.execute(app.db)
  await sql`VACUUM ANALYZE order_facts`.execute(app.db)

  // both downloads by a separate process (curl, psql) into a pipe counted by wc: the same work for either side
  const timed = async (command) => await new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const shell = spawn('bash', ['-o', 'pipefail', '-c', `${command} | wc -c`], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    shell.stdout.on('data', (chunk) => { out += chunk })
    shell.on('error', reject)
    shell.on('close', (code) => {
      if (code === 0) resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes: Number(out.trim()) })
      else reject(new Error(`${command.slice(0, 60)}… exited ${code}`))
    })
  })
  const quote = (s) => `'${s.replace(/'/g, "'\\''")}'`
  const exportOnce = async () => await timed(`curl -sSf -H ${quote(`authorization: ${authorization}`)} http://127.0.0.1:${port}/api/export/orders/`)
  const { text } = exportQuery('orders', { start: null, end: null })
  const url = new URL(databaseUrl)
  const copyOnce = async () => await timed(`psql -h ${url.hostname} -p ${url.port || '5432'} -U postgres -d ${url.pathname.slice(1)} -Atq -c ` +
    quote(`\\copy (${text.replace(/\s+/g, ' ')}) TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE *)`))
  await exportOnce() // warm-up: JIT, pools, the JWKS
  const session = new Session()
  session.connect()
  const results = []
  for (let run = 1; run <= RUNS; run++) {
    const copy = await copyOnce()
    const last = run === RUNS
    if (last) { await session.post('Profiler.enable'); await session.post('Profiler.start') }
    const rssBefore = process.memoryUsage().rss
    let peak = rssBefore
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 20)
    const exp = await exportOnce()
    clearInterval(sampler)
    if (last) {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(PROFILE, JSON.stringify(profile))
      results.push({ run, copy, exp, rss: (peak - rssBefore) / 1_048_576, profile })
    } else {
      results.push({ run, copy, exp, rss: (peak - rssBefore) / 1_048_576 })
    }
  }
  session.disconnect()

  const fmt = (n) => Math.round(n).toLocaleString('en-US')
  console.log(`${fmt(ROWS)} rows, node ${process.version}`)
  for (const { run, copy, exp, rss } of results) {
    console.log(`run ${run}: psql \\copy ${copy.seconds.toFixed(2)} s = ${fmt(ROWS / copy.seconds)} rows/s (${(copy.bytes / 1_048_576).toFixed(1)} MB) | ` +
      `export ${exp.seconds.toFixed(2)} s = ${fmt(ROWS / exp.seconds)} rows/s (${(exp.bytes / 1_048_576).toFixed(1)} MB, rss +${rss.toFixed(1)} MB) | ratio ${(copy.seconds / exp.seconds).toFixed(2)}`)
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const ratio = median(results.map((r) => r.copy.seconds / r.exp.seconds))
  console.log(`median ratio export/psql: ${ratio.toFixed(2)}`)

  // self time per function of the profiled export (sampled): where the CPU went
  const { profile } = results[results.length - 1]
  const self = new Map()
  const interval = new Map()
  for (let i = 0; i < profile.samples.length; i++) interval.set(profile.samples[i], (interval.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    const where = url === '' ? '' : ` ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/services\//, 'services/')}:${lineNumber + 1}`
    const key = `${functionName || '(anonymous)'}${where}`
    self.set(key, (self.get(key) ?? 0) + (interval.get(node.id) ?? 0))
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled, written to ${PROFILE}; top self time:`)
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 18)) {
    console.log(`  ${(100 * us / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`)
  }
} finally {
  for (const fn of cleanups) await fn()
}
