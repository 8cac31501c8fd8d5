import t from 'tap'
import { ConfigError } from '@topup/service-kit'
import { DEV_WEBHOOK_SECRET, loadPaymentsConfig } from '../src/config.js'

t.test('production refuses the development webhook secret', async (t) => {
  for (const env of [{ NODE_ENV: 'production' }, { NODE_ENV: 'production', PAYMENT_WEBHOOK_SECRET: DEV_WEBHOOK_SECRET }]) {
    t.throws(() => loadPaymentsConfig(env), ConfigError)
    try {
      loadPaymentsConfig(env)
    } catch (err) {
      t.type(err, ConfigError)
      t.match((err as ConfigError).problems, [/^PAYMENT_WEBHOOK_SECRET: must be set to a real secret in production/])
      t.match((err as Error).message, /PAYMENT_WEBHOOK_SECRET/)
      t.notMatch((err as Error).message, DEV_WEBHOOK_SECRET, 'the secret itself is not echoed')
    }
  }
})

t.test('production accepts a real secret; development and test keep the default', async (t) => {
  const secret = 'a-real-production-secret-9f8e7d6c'
  const config = loadPaymentsConfig({ NODE_ENV: 'production', PAYMENT_WEBHOOK_SECRET: secret })
  t.equal(config.PAYMENT_WEBHOOK_SECRET, secret)
  t.equal(config.WEBHOOK_TOLERANCE_SECONDS, 300, 'docs/DESIGN.md §2.2: 300 s')
  t.equal(config.PORT, 3003)
  t.equal(config.PAYMENT_PROVIDER, 'sandbox')
  t.equal(loadPaymentsConfig({ NODE_ENV: 'development' }).PAYMENT_WEBHOOK_SECRET, DEV_WEBHOOK_SECRET)
  t.equal(loadPaymentsConfig({ NODE_ENV: 'test' }).PAYMENT_WEBHOOK_SECRET, DEV_WEBHOOK_SECRET)
})

t.test('a secret too short to be a secret is refused anywhere', async (t) => {
  t.throws(() => loadPaymentsConfig({ NODE_ENV: 'development', PAYMENT_WEBHOOK_SECRET: 'short' }), ConfigError)
  try {
    loadPaymentsConfig({ NODE_ENV: 'production', PAYMENT_WEBHOOK_SECRET: 'short' })
    t.fail('accepted a 5-character secret')
  } catch (err) {
    t.match((err as ConfigError).problems, [/^PAYMENT_WEBHOOK_SECRET: /])
  }
})
