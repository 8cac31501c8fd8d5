/**
 * The credentials the fuzzer sends: none, real player and staff tokens, and
 * every kind of bad one. The platform's auth service is started with a key
 * this file made (AUTH_PRIVATE_KEY), so the bad tokens can be exactly one
 * defect away from a real one (expired, wrong issuer, refresh type) instead of
 * merely random.
 */
import { createHash, createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import fc, { type Arbitrary } from 'fast-check'
import { headerString } from './schema-arbitrary.js'

export type TokenKind = 'none' | 'player' | 'staff' | 'bad'

export interface Credential {
  kind: TokenKind
  /** What the bad token is, for failure messages. */
  label: string
  /** The whole Authorization header value, or undefined for none. */
  authorization: string | undefined
}

export interface SigningMaterial {
  privateKey: KeyObject
  /** PEM for AUTH_PRIVATE_KEY. */
  privateKeyPem: string
  publicKeyPem: string
}

export function makeSigningMaterial (): SigningMaterial {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    privateKey,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString()
  }
}

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

function es256 (header: object, payload: object, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
}

/** The key id auth publishes for this key: its RFC 7638 thumbprint (services/auth/src/keys.ts). */
export function keyId (material: SigningMaterial): string {
  const jwk = createPublicKey(material.privateKey).export({ format: 'jwk' })
  return createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url')
}

/**
 * A valid access token signed with the key auth was started with, as auth
 * would issue it (for tests that need a token but not a login).
 */
export function signAccessToken (material: SigningMaterial, claims: { sub: string, username: string, email: string, staff: boolean }): string {
  const now = Math.floor(Date.now() / 1000)
  return es256({ alg: 'ES256', typ: 'JWT', kid: keyId(material) }, { ...claims, typ: 'access', iss: 'topup-auth', aud: 'topup-platform', iat: now, exp: now + 900 }, material.privateKey)
}

export interface TokenContext {
  material: SigningMaterial
  /** A real access token (its header gives the kid, its claims a real user). */
  playerToken: string
  staffToken: string
  issuer: string
  audience: string
}

/** Decodes a JWT's header and payload (no verification: they are ours). */
function decode (token: string): { header: Record<string, unknown>, payload: Record<string, unknown> } {
  const [h = '', p = ''] = token.split('.')
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>, payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown> }
}

/** Bad tokens one defect away from the real staff token, each named. */
export function badTokens (ctx: TokenContext): Array<{ label: string, token: string }> {
  const { header, payload } = decode(ctx.staffToken)
  const now = Math.floor(Date.now() / 1000)
  const claims = { ...payload, iat: now, exp: now + 600 }
  const other = makeSigningMaterial()
  const [h, p, s = ''] = ctx.staffToken.split('.')
  const flipped = s.length > 0 ? `${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}` : 'AA'
  return [
    { label: 'expired', token: es256(header, { ...claims, iat: now - 3600, exp: now - 1800 }, ctx.material.privateKey) },
    { label: 'not yet valid', token: es256(header, { ...claims, nbf: now + 3600 }, ctx.material.privateKey) },
    { label: 'wrong issuer', token: es256(header, { ...claims, iss: 'evil-issuer' }, ctx.material.privateKey) },
    { label: 'wrong audience', token: es256(header, { ...claims, aud: 'another-platform' }, ctx.material.privateKey) },
    { label: 'no exp', token: es256(header, { ...claims, exp: undefined }, ctx.material.privateKey) },
    { label: 'typ refresh', token: es256(header, { ...claims, typ: 'refresh' }, ctx.material.privateKey) },
    { label: 'wrong signature (another key, same kid)', token: es256(header, claims, other.privateKey) },
    { label: 'another key, unknown kid', token: es256({ ...header, kid: 'fuzz-unknown-kid' }, claims, other.privateKey) },
    { label: 'signature bytes flipped', token: `${h}.${p}.${flipped}` },
    { label: 'payload swapped (staff claims on the player signature)', token: `${ctx.playerToken.split('.')[0]}.${p}.${ctx.playerToken.split('.')[2]}` },
    { label: 'alg none', token: `${b64({ ...header, alg: 'none' })}.${b64(claims)}.` },
    { label: 'alg none, no dot', token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}` },
    { label: 'HS256 with the public key as secret', token: (() => { const input = `${b64({ ...header, alg: 'HS256' })}.${b64(claims)}`; return `${input}.${createHmac('sha256', ctx.material.publicKeyPem).update(input).digest('base64url')}` })() },
    { label: 'ES256 header, empty signature', token: `${h}.${p}.` },
    { label: 'header not JSON', token: `${b64('not json')}.${p}.${s}` }
  ]
}

/** Authorization header values that are not a bearer token at all. */
const garbageAuthorization: Arbitrary<{ label: string, value: string }> = fc.oneof(
  headerString(1, 60).map((value) => ({ label: 'garbage header', value })),
  headerString(1, 60).map((t) => ({ label: 'garbage bearer', value: `Bearer ${t}` })),
  fc.tuple(fc.base64String({ maxLength: 40 }), fc.base64String({ maxLength: 40 }), fc.base64String({ maxLength: 40 })).map(([a, b, c]) => ({ label: 'three base64 segments', value: `Bearer ${a}.${b}.${c}` })),
  fc.constantFrom('Bearer', 'Bearer ', 'bearer', 'Basic dXNlcjpwYXNz', 'Token abc', 'Bearer  ', 'Bearer null', 'Bearer undefined', 'Bearer ...', 'Bearer a.b', 'Bearer a.b.c.d.e')
    .map((value) => ({ label: 'malformed scheme', value })),
  fc.integer({ min: 4000, max: 12_000 }).map((n) => ({ label: `huge bearer (${n})`, value: `Bearer ${'A'.repeat(n)}` }))
)

/** Credentials of every kind; `bad` ones mixed from the named and the random. */
export function credentialArbitraries (ctx: TokenContext): Record<TokenKind, Arbitrary<Credential>> {
  const named = badTokens(ctx)
  return {
    none: fc.constant({ kind: 'none', label: 'no token', authorization: undefined }),
    player: fc.constantFrom(`Bearer ${ctx.playerToken}`, `bearer ${ctx.playerToken}`).map((authorization) => ({ kind: 'player', label: 'player token', authorization })),
    staff: fc.constant({ kind: 'staff', label: 'staff token', authorization: `Bearer ${ctx.staffToken}` }),
    bad: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...named).map(({ label, token }) => ({ kind: 'bad' as const, label, authorization: `Bearer ${token}` })) },
      { weight: 2, arbitrary: garbageAuthorization.map(({ label, value }) => ({ kind: 'bad' as const, label, authorization: value })) }
    )
  }
}
