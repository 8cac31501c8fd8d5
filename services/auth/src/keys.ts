import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { ACCESS_TOKEN_ALGORITHM } from '@topup/service-kit'

/** The public half of the signing key as published in the JWKS. */
export interface PublicJwk {
  kty: 'EC'
  crv: 'P-256'
  x: string
  y: string
  kid: string
  alg: typeof ACCESS_TOKEN_ALGORITHM
  use: 'sig'
}

export interface SigningKey {
  privateKeyPem: string
  publicKeyPem: string
  /** RFC 7638 JWK thumbprint of the public key */
  kid: string
  jwk: PublicJwk
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, base64url. */
export function jwkThumbprint (jwk: { crv: string, kty: string, x: string, y: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
  return createHash('sha256').update(canonical).digest('base64url')
}

function fromPrivateKey (privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the signing key must be an EC P-256 private key')
  }
  const publicKey = createPublicKey(privateKey)
  const exported = publicKey.export({ format: 'jwk' })
  if (typeof exported.x !== 'string' || typeof exported.y !== 'string') throw new Error('cannot export the public key as a JWK')
  const kid = jwkThumbprint({ crv: 'P-256', kty: 'EC', x: exported.x, y: exported.y })
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    kid,
    jwk: { kty: 'EC', crv: 'P-256', x: exported.x, y: exported.y, kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' }
  }
}

/** The signing key from a PEM (AUTH_PRIVATE_KEY, or one kept in the database). */
export function signingKeyFromPem (privateKeyPem: string): SigningKey {
  return fromPrivateKey(createPrivateKey(privateKeyPem))
}

/** A fresh ES256 key pair (development: kept in the database by db/signing-keys.ts). */
export function generateSigningKey (): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return fromPrivateKey(privateKey)
}
