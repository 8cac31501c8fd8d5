import type { App } from '@topup/service-kit'
import { normalizePem, type AuthConfig } from './config.js'
import { loadOrCreateSigningKey } from './db/signing-keys.js'
import { TakenError } from './db/users.js'
import { signingKeyFromPem, type SigningKey } from './keys.js'
import { ensureStaff } from './staff.js'

/** The key access tokens are signed with: AUTH_PRIVATE_KEY, or (development only) one kept in the database. */
export async function signingKey (app: App, config: AuthConfig): Promise<SigningKey> {
  if (config.AUTH_PRIVATE_KEY !== undefined) return signingKeyFromPem(normalizePem(config.AUTH_PRIVATE_KEY))
  // development only: loadAuthConfig refuses a missing key in production
  const { key, created } = await loadOrCreateSigningKey(app.db)
  app.log.info({ kid: key.kid }, created ? 'generated a development signing key (kept in the database)' : 'using the development signing key from the database')
  return key
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
