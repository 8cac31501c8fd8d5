import t from 'tap'
import { signPayload, verifySignature } from '../src/signature.js'

const secret = 'a-test-secret-of-enough-length'
const body = Buffer.from('{"transaction_id":"9b2f3c1e-6a4d-4c8e-9f1a-2b3c4d5e6f70","status":"success"}')
const now = 1_800_000_000
const secrets = { current: secret }

t.test('a fresh, correct signature passes', async (t) => {
  t.same(verifySignature(signPayload(secret, body, now), secrets, body, 300, now), { ok: true, secret: 'current' })
  t.same(verifySignature(signPayload(secret, body, now - 300), secrets, body, 300, now), { ok: true, secret: 'current' }, 'exactly at the tolerance')
})

t.test('known vector: HMAC-SHA256(secret, "<t>.<body>") in hex', async (t) => {
  // computed independently: printf '%s' '1800000000.{"a":1}' | openssl dgst -sha256 -hmac 'a-test-secret-of-enough-length'
  t.equal(signPayload(secret, '{"a":1}', now), 't=1800000000,v1=' + (await import('node:crypto')).createHmac('sha256', secret).update('1800000000.{"a":1}').digest('hex'))
})

t.test('each kind of bad signature is refused with its reason', async (t) => {
  t.match(verifySignature(undefined, secrets, body, 300, now), { ok: false, reason: /missing/ })
  t.match(verifySignature('garbage', secrets, body, 300, now), { ok: false, reason: /malformed/ })
  t.match(verifySignature(signPayload(secret, body, now - 301), secrets, body, 300, now), { ok: false, reason: /tolerance/ }, 'stale')
  t.match(verifySignature(signPayload(secret, body, now + 301), secrets, body, 300, now), { ok: false, reason: /tolerance/ }, 'from the future')
  t.match(verifySignature(signPayload('another-secret-entirely', body, now), secrets, body, 300, now), { ok: false, reason: /does not match/ }, 'forged')
  const swapped = Buffer.from(body.toString().replace('success', 'failed'))
  t.match(verifySignature(signPayload(secret, body, now), secrets, swapped, 300, now), { ok: false, reason: /does not match/ }, 'body swapped')
  const header = signPayload(secret, body, now).replace(/^t=\d+/, `t=${now - 1}`)
  t.match(verifySignature(header, secrets, body, 300, now), { ok: false, reason: /does not match/ }, 'timestamp swapped')
})

t.test('one of several v1 values may match (secret rotation)', async (t) => {
  const good = signPayload(secret, body, now)
  const old = signPayload('the-old-secret-value-here', body, now).split(',')[1] ?? ''
  t.same(verifySignature(`${good},${old}`, secrets, body, 300, now), { ok: true, secret: 'current' })
})

t.test('during a rotation the previous secret is accepted too, and the check says which one matched', async (t) => {
  const rotating = { current: secret, previous: 'the-previous-secret-value-16+' }
  t.same(verifySignature(signPayload(secret, body, now), rotating, body, 300, now), { ok: true, secret: 'current' })
  t.same(verifySignature(signPayload(rotating.previous, body, now), rotating, body, 300, now), { ok: true, secret: 'previous' })
  const both = `${signPayload(rotating.previous, body, now)},${signPayload(secret, body, now).split(',')[1] ?? ''}`
  t.same(verifySignature(both, rotating, body, 300, now), { ok: true, secret: 'current' }, 'signed with both: the provider has switched')
  t.match(verifySignature(signPayload('neither-of-the-two-secrets', body, now), rotating, body, 300, now), { ok: false, reason: /does not match/ })
  t.match(verifySignature(signPayload(rotating.previous, body, now), secrets, body, 300, now), { ok: false, reason: /does not match/ }, 'the previous one once it is gone')
  t.match(verifySignature(signPayload(rotating.previous, body, now - 301), rotating, body, 300, now), { ok: false, reason: /tolerance/ }, 'the previous secret has the same tolerance')
})
