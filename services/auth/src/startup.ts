import type { App } from '@topup/service-kit'
import { normalizePem, type AuthConfig } from './config.js'
import { loadOrCreateSigningKey } from './db/signing-keys.js'
import { TakenError } from './db/users.js'
import { Keyring } from './keyring.js'
import { signingKeyFromPem } from './keys.js'
import { ensureStaff } from './staff.js'

/**
 * The signing keys: those of signing_keys (added by npm run rotate-key) and
 * AUTH_PRIVATE_KEY's; in development, with neither, a generated one kept in
 * the database. Loaded once here, then again every `reloadMs` (see Keyring).
 */
export async function loadKeyring (app: App, config: AuthConfig, reloadMs: number): Promise<Keyring> {
  const envKey = config.AUTH_PRIVATE_KEY === undefined ? undefined : signingKeyFromPem(normalizePem(config.AUTH_PRIVATE_KEY))
  if (envKey === undefined) {
    // development only: loadAuthConfig refuses a missing key in production
    const { kid, created } = await loadOrCreateSigningKey(app.db)
    if (created) app.log.info({ kid }, 'generated a development signing key (kept in the database)')
  }
  const keyring = new Keyring(app.db, envKey, app.log)
  await keyring.reload()
  const signing = keyring.signing()
  app.log.info({ kid: signing.kid, keys: keyring.jwks().length, fromEnvironment: signing.kid === envKey?.kid }, 'signing keys loaded')
  keyring.start(reloadMs)
  app.addHook('onClose', async () => { keyring.stop() })
  return keyring
}

/** The staff user of STAFF_USERNAME / STAFF_EMAIL / STAFF_PASSWORD, created on start if missing (never promoted: npm run create-staff does that). */
export async function bootstrapStaff (app: App, config: AuthConfig): Promise<void> {
  const { STAFF_USERNAME: username, STAFF_EMAIL: email, STAFF_PASSWORD: password } = config
  if (username === undefined || email === undefined || password === undefined) return
  try {
    const { outcome, id } = await ensureStaff(app.db, { username, email, password }, { promote: false })
    if (outcome === 'created') app.log.info({ userId: id, username }, 'staff user created')
    else if (outcome === 'exists') app.log.warn({ userId: id, username }, 'STAFF_USERNAME belongs to a user who is not staff; left unchanged (use npm run create-staff to promote)')
  } catch (err) {
    if (!(err instanceof TakenError)) throw err
    app.log.warn({ username }, 'staff user not created: STAFF_EMAIL belongs to another user')
  }
}
