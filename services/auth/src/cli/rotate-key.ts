/**
 * The signing keys of access tokens (see src/keyring.ts):
 *   npm run rotate-key                       adds a key; it signs new tokens 30 s later
 *   npm run rotate-key -- --signing-in 1m    ... or after another delay (longer than SIGNING_KEYS_RELOAD)
 *   npm run rotate-key -- --list             the keys and their state
 *   npm run rotate-key -- --remove KID       removes a key that no longer signs, once its tokens have expired
 *   npm run rotate-key -- --remove KID --force   ... at once (a leaked key: its holders refresh their token)
 * Uses DATABASE_URL (default: the local topup_auth database), which it creates and migrates, and
 * AUTH_PRIVATE_KEY when set (that key is one of the set, never stored). Running auth instances
 * pick the change up within SIGNING_KEYS_RELOAD (10 s), without a restart.
 * Prints what it did; exits 0, or 1 with the reason.
 */
import { parseArgs } from 'node:util'
import { ACCESS_TOKEN_TTL } from '@topup/service-kit'
import { normalizePem } from '../config.js'
import { parseDuration } from '../duration.js'
import { addSigningKey, keyStates, loadKeyRecords, removeSigningKey, withEnvKey, type KeyState } from '../db/signing-keys.js'
import { signingKeyFromPem, type SigningKey } from '../keys.js'
import { withAuthDatabase } from './database.js'

/** A new key signs this long after it is added, so that every auth instance lists it first (SIGNING_KEYS_RELOAD is 10 s). */
const DEFAULT_SIGNING_IN = '30 seconds'
/** Tokens of a key are valid for the access-token lifetime after it stopped signing, plus this for clocks that differ. */
const CLOCK_MARGIN_MS = 60_000

function fail (message: string): never {
  process.stderr.write(`rotate-key: ${message}\n`)
  process.exit(1)
}

const USAGE = 'usage: rotate-key [--signing-in DURATION] | --list | --remove KID [--force]'

function describe (key: KeyState, tokenLifetimeMs: number): string {
  const source = key.source === 'AUTH_PRIVATE_KEY' ? ' (AUTH_PRIVATE_KEY)' : ''
  switch (key.state) {
    case 'signing': return `${key.kid}  signing${source}: new tokens get this key`
    case 'pending': return `${key.kid}  pending${source}: listed, signs from ${key.signingFrom?.toISOString() ?? '?'}`
    case 'removed': return `${key.kid}  removed${source} at ${key.removedAt?.toISOString() ?? '?'}: tokens refused`
    case 'listed': {
      const until = key.retiredAt === null ? undefined : new Date(key.retiredAt.getTime() + tokenLifetimeMs)
      return `${key.kid}  listed${source}: not signing since ${key.retiredAt?.toISOString() ?? '?'}; its last tokens expire at ${until?.toISOString() ?? '?'}, removable then`
    }
  }
}

async function main (): Promise<void> {
  let values: { list?: boolean | undefined, remove?: string | undefined, force?: boolean | undefined, 'signing-in'?: string | undefined }
  try {
    ({ values } = parseArgs({
      options: { list: { type: 'boolean' }, remove: { type: 'string' }, force: { type: 'boolean' }, 'signing-in': { type: 'string' } },
      strict: true,
      allowPositionals: false
    }))
  } catch (err) {
    fail(`${(err as Error).message} (${USAGE})`)
  }
  const modes = [values.list === true, values.remove !== undefined, values['signing-in'] !== undefined].filter(Boolean).length
  if (modes > 1 || (values.force === true && values.remove === undefined)) fail(USAGE)
  const signingInText = values['signing-in'] ?? DEFAULT_SIGNING_IN
  // "0" is allowed: a key that signs at the next reload of each instance (tests, a single instance)
  const signingInMs = signingInText.trim() === '0' ? 0 : parseDuration(signingInText)
  if (signingInMs === undefined) fail(`--signing-in: not a duration: ${signingInText} (say "30 seconds", "1m")`)

  let envKey: SigningKey | undefined
  if (process.env.AUTH_PRIVATE_KEY !== undefined && process.env.AUTH_PRIVATE_KEY !== '') {
    try {
      envKey = signingKeyFromPem(normalizePem(process.env.AUTH_PRIVATE_KEY))
    } catch (err) {
      fail(`AUTH_PRIVATE_KEY: ${(err as Error).message}`)
    }
  }
  const tokenLifetimeMs = (parseDuration(ACCESS_TOKEN_TTL) ?? 15 * 60_000) + CLOCK_MARGIN_MS

  const error = await withAuthDatabase(async (db) => {
    if (values.list === true) {
      const { records, now } = await loadKeyRecords(db)
      const states = keyStates(withEnvKey(records, envKey), now)
      if (states.length === 0) process.stdout.write('no signing keys yet (auth generates one in development; AUTH_PRIVATE_KEY in production)\n')
      for (const key of states) process.stdout.write(`${describe(key, tokenLifetimeMs)}\n`)
    } else if (values.remove !== undefined) {
      const kid = values.remove
      const result = await removeSigningKey(db, kid, { envKey, force: values.force === true, tokenLifetimeMs })
      if (!result.ok) {
        return {
          unknown: `no key ${kid} (npm run rotate-key -- --list shows the keys${envKey === undefined ? '; AUTH_PRIVATE_KEY is not set here' : ''})`,
          'already-removed': `key ${kid} is removed already`,
          signing: `key ${kid} signs new tokens: add a key first (npm run rotate-key), then remove this one once its tokens have expired`,
          'still-valid': `tokens of key ${kid} may be valid until ${result.validUntil?.toISOString() ?? '?'}: remove it then, or now with --force (their holders get a 401 and refresh)`
        }[result.reason]
      }
      process.stdout.write(`removed key ${kid}${result.source === 'AUTH_PRIVATE_KEY' ? ' (the AUTH_PRIVATE_KEY key: a mark in the database keeps it refused even while AUTH_PRIVATE_KEY stays set, as production requires)' : ''}: ` +
        'auth stops listing it and refuses its tokens within SIGNING_KEYS_RELOAD (10 s), the other services within a minute after that\n')
    } else {
      const { kid, signingFrom } = await addSigningKey(db, { signingInMs })
      process.stdout.write(`added key ${kid}: listed by every auth instance within SIGNING_KEYS_RELOAD (10 s), signing new tokens from ${signingFrom.toISOString()}\n`)
      const { records, now } = await loadKeyRecords(db)
      const older = keyStates(withEnvKey(records, envKey), now).filter((k) => k.kid !== kid && k.state !== 'removed')
      for (const key of older) {
        const until = new Date(Math.max(signingFrom.getTime(), now.getTime()) + tokenLifetimeMs)
        process.stdout.write(`then remove ${key.kid} after ${until.toISOString()}: npm run rotate-key -- --remove ${key.kid}\n`)
      }
    }
    return undefined
  })
  if (error !== undefined) fail(error)
}

await main()
