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

/** The problems a configuration is refused with (none: accepted). */
function problems (env: Record<string, string>): string[] {
  try {
    loadPaymentsConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('PAYMENT_WEBHOOK_SECRET_PREVIOUS: optional, at least 16 characters, not the current one', async (t) => {
  const current = 'the-current-secret-0123456789'
  const previous = 'the-previous-secret-987654321'
  t.equal(loadPaymentsConfig({ PAYMENT_WEBHOOK_SECRET: current }).PAYMENT_WEBHOOK_SECRET_PREVIOUS, undefined, 'unset: no previous secret')
  t.equal(loadPaymentsConfig({ PAYMENT_WEBHOOK_SECRET: current, PAYMENT_WEBHOOK_SECRET_PREVIOUS: '' }).PAYMENT_WEBHOOK_SECRET_PREVIOUS, undefined, 'empty (compose passes unset variables so): none')
  t.equal(loadPaymentsConfig({ NODE_ENV: 'production', PAYMENT_WEBHOOK_SECRET: current, PAYMENT_WEBHOOK_SECRET_PREVIOUS: previous }).PAYMENT_WEBHOOK_SECRET_PREVIOUS, previous)

  t.match(problems({ PAYMENT_WEBHOOK_SECRET: current, PAYMENT_WEBHOOK_SECRET_PREVIOUS: current }), [/^PAYMENT_WEBHOOK_SECRET_PREVIOUS: must differ from PAYMENT_WEBHOOK_SECRET/], 'equal to the current one')
  t.match(problems({ PAYMENT_WEBHOOK_SECRET: current, PAYMENT_WEBHOOK_SECRET_PREVIOUS: 'fifteen-chars15' }), [/^PAYMENT_WEBHOOK_SECRET_PREVIOUS: /], '15 characters')
  t.same(problems({ PAYMENT_WEBHOOK_SECRET: current, PAYMENT_WEBHOOK_SECRET_PREVIOUS: 'sixteen-chars-16' }), [], '16 characters')
  t.match(problems({ NODE_ENV: 'production', PAYMENT_WEBHOOK_SECRET: current, PAYMENT_WEBHOOK_SECRET_PREVIOUS: DEV_WEBHOOK_SECRET }), [/^PAYMENT_WEBHOOK_SECRET_PREVIOUS: must not be the development default/])
  for (const problem of problems({ PAYMENT_WEBHOOK_SECRET: current, PAYMENT_WEBHOOK_SECRET_PREVIOUS: current })) t.notMatch(problem, current, 'the secret itself is not echoed')
})

t.test('PAYMENT_EXPIRY_MINUTES and PAYMENT_EXPIRY_SWEEP_SECONDS', async (t) => {
  const defaults = loadPaymentsConfig({})
  t.equal(defaults.PAYMENT_EXPIRY_MINUTES, 30)
  t.equal(defaults.PAYMENT_EXPIRY_SWEEP_SECONDS, 30)
  t.equal(loadPaymentsConfig({ PAYMENT_EXPIRY_MINUTES: '0.05' }).PAYMENT_EXPIRY_MINUTES, 0.05, 'a fraction (tests)')
  t.equal(loadPaymentsConfig({ PAYMENT_EXPIRY_MINUTES: '90', PAYMENT_EXPIRY_SWEEP_SECONDS: '0' }).PAYMENT_EXPIRY_SWEEP_SECONDS, 0, '0: this instance does not sweep')
  for (const [value, why] of [['0', 'zero'], ['-5', 'negative'], ['10081', 'over a week'], ['soon', 'not a number']] as const) {
    t.match(problems({ PAYMENT_EXPIRY_MINUTES: value }), [/^PAYMENT_EXPIRY_MINUTES: /], `PAYMENT_EXPIRY_MINUTES ${why}`)
  }
  for (const [value, why] of [['-1', 'negative'], ['1.5', 'a fraction'], ['3601', 'over an hour']] as const) {
    t.match(problems({ PAYMENT_EXPIRY_SWEEP_SECONDS: value }), [/^PAYMENT_EXPIRY_SWEEP_SECONDS: /], `PAYMENT_EXPIRY_SWEEP_SECONDS ${why}`)
  }
  const secret = 'a-real-production-secret-9f8e7d6c'
  t.match(problems({ NODE_ENV: 'production', PAYMENT_WEBHOOK_SECRET: secret, PAYMENT_EXPIRY_MINUTES: '0.5' }), [/^PAYMENT_EXPIRY_MINUTES: must be at least 1 in production/])
  t.equal(loadPaymentsConfig({ NODE_ENV: 'production', PAYMENT_WEBHOOK_SECRET: secret, PAYMENT_EXPIRY_MINUTES: '1' }).PAYMENT_EXPIRY_MINUTES, 1)
})
