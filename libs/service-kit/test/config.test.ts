import t from 'tap'
import { Type } from 'typebox'
import { BaseEnv, ConfigError, loadConfig } from '../src/config.js'

const Env = { ...BaseEnv, PORT: Type.Integer({ default: 3001, minimum: 1, maximum: 65535 }), SECRET: Type.String({ default: 'dev-secret', minLength: 8 }) }

t.test('development defaults work with an empty environment', async (t) => {
  const config = loadConfig(Env, { env: {} })
  t.equal(config.NODE_ENV, 'development')
  t.equal(config.PORT, 3001)
  t.equal(config.HOST, '127.0.0.1')
})

t.test('numbers are read from strings', async (t) => {
  t.equal(loadConfig(Env, { env: { PORT: '4000' } }).PORT, 4000)
})

t.test('one line per bad variable, naming it', async (t) => {
  const err = t.throws(() => loadConfig(Env, { env: { PORT: 'abc', NODE_ENV: 'staging', SECRET: 'x' } })) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.problems.length, 3, err.message)
  t.match(err.problems.join('\n'), /PORT: must be integer/)
  t.match(err.problems.join('\n'), /NODE_ENV: must be one of development, test, production/)
  t.match(err.problems.join('\n'), /SECRET: must NOT have fewer than 8 characters/)
})

t.test('a required variable without default is reported as missing', async (t) => {
  const err = t.throws(() => loadConfig({ NEEDED: Type.String() }, { env: {} })) as ConfigError
  t.same(err.problems, ['NEEDED: is required but not set'])
})

t.test('production refuses development secrets', async (t) => {
  const err = t.throws(() => loadConfig(Env, { env: { NODE_ENV: 'production' }, devSecrets: { SECRET: 'dev-secret' } })) as ConfigError
  t.match(err.problems[0], /SECRET: must be set to a real secret in production/)
  const ok = loadConfig(Env, { env: { NODE_ENV: 'production', SECRET: 'a-real-long-secret' }, devSecrets: { SECRET: 'dev-secret' } })
  t.equal(ok.SECRET, 'a-real-long-secret')
})
