import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { pay } from '../src/cli/pay.js'
import { build, findTransaction, insertPending, outboxEvents, WEBHOOK_SECRET, webhookCalls } from './helper.js'

async function listen (app: Awaited<ReturnType<typeof build>>['app']): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on a port')
  return `http://127.0.0.1:${address.port}`
}

t.test('pay() with the right secret settles the transaction over real HTTP', async (t) => {
  const harness = await build(t)
  const baseUrl = await listen(harness.app)
  const tx = await insertPending(harness)

  const result = await pay({ baseUrl, secret: WEBHOOK_SECRET, transactionId: tx.transaction_id, status: 'success' })
  t.equal(result.status, 200, result.body)
  t.same(JSON.parse(result.body), { transaction_id: tx.transaction_id, status: 'success', changed: true })
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'success')
  t.equal((await outboxEvents(harness)).length, 1)
  t.match(await webhookCalls(harness), [{ signature_valid: true, response_status: 200, remote_address: '127.0.0.1' }])

  const again = await pay({ baseUrl, secret: WEBHOOK_SECRET, transactionId: tx.transaction_id, status: 'failed' })
  t.equal(again.status, 409)
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'success')
})

t.test('pay() with the wrong secret is refused', async (t) => {
  const harness = await build(t)
  const baseUrl = await listen(harness.app)
  const tx = await insertPending(harness)
  const result = await pay({ baseUrl, secret: 'not-the-gateway-secret-at-all', transactionId: tx.transaction_id, status: 'failed' })
  t.equal(result.status, 401, result.body)
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'pending')
  t.equal((await outboxEvents(harness)).length, 0)
})

t.test('the CLI (npm run pay) signs with PAYMENT_WEBHOOK_SECRET and exits 0 on success', async (t) => {
  const cli = fileURLToPath(new URL('../dist/src/cli/pay.js', import.meta.url))
  if (!existsSync(cli)) {
    t.fail(`${cli} is missing: build first (npx tsc -b tsconfig.build.json)`)
    return
  }
  const harness = await build(t)
  const baseUrl = await listen(harness.app)
  const tx = await insertPending(harness)
  const run = promisify(execFile)
  const env = { ...process.env, GATEWAY_URL: baseUrl, PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET }

  const { stdout } = await run(process.execPath, [cli, tx.transaction_id, 'failed'], { env })
  t.match(stdout, /^200 \{"transaction_id":"[0-9a-f-]{36}","status":"failed","changed":true\}\n$/)
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'failed')

  // a refused call exits 1; bad arguments exit 2
  await t.rejects(run(process.execPath, [cli, tx.transaction_id, 'success'], { env }), { code: 1, stdout: /^409 / })
  await t.rejects(run(process.execPath, [cli, tx.transaction_id, 'refunded'], { env }), { code: 2, stderr: /usage/ })
  t.equal((await findTransaction(harness, tx.transaction_id))?.status, 'failed')

  // a secret that is not the server's: the 401 comes with what must match
  const other = await insertPending(harness)
  await t.rejects(run(process.execPath, [cli, other.transaction_id, 'success'], { env: { ...env, PAYMENT_WEBHOOK_SECRET: 'a-secret-the-server-does-not-have' } }),
    { code: 1, stdout: /^401 /, stderr: /the signature was refused: PAYMENT_WEBHOOK_SECRET here \(set\) must be the secret the payments service runs with/ })
  const { PAYMENT_WEBHOOK_SECRET: _secret, ...unset } = env
  await t.rejects(run(process.execPath, [cli, other.transaction_id, 'success'], { env: unset }),
    { code: 1, stderr: /PAYMENT_WEBHOOK_SECRET here \(unset, so the development secret\)/ }, 'unset: it says it signed with the development secret')
  t.equal((await findTransaction(harness, other.transaction_id))?.status, 'pending')
})

t.test('during a rotation the CLI signs with the current secret (PAYMENT_WEBHOOK_SECRET), never the previous', async (t) => {
  const cli = fileURLToPath(new URL('../dist/src/cli/pay.js', import.meta.url))
  if (!existsSync(cli)) {
    t.fail(`${cli} is missing: build first (npx tsc -b tsconfig.build.json)`)
    return
  }
  const previous = 'the-previous-webhook-secret-fedcba9876'
  const harness = await build(t, { PAYMENT_WEBHOOK_SECRET_PREVIOUS: previous })
  const baseUrl = await listen(harness.app)
  const tx = await insertPending(harness)
  const env = { ...process.env, GATEWAY_URL: baseUrl, PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET, PAYMENT_WEBHOOK_SECRET_PREVIOUS: previous }
  const { stdout } = await promisify(execFile)(process.execPath, [cli, tx.transaction_id, 'success'], { env })
  t.match(stdout, /^200 /)
  t.match(await webhookCalls(harness), [{ signature_valid: true, matched_secret: 'current', outcome: 'pending → success' }])
})
