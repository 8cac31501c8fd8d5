import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { PublicJwk } from '../../keys.js'

export interface JwksRoutesOptions {
  /** The keys listed now (they change with a rotation: see keyring.ts). */
  keys: () => PublicJwk[]
}

const Jwk = Type.Object({
  kty: Type.Literal('EC'),
  crv: Type.Literal('P-256'),
  x: Type.String(),
  y: Type.String(),
  kid: Type.String(),
  alg: Type.Literal('ES256'),
  use: Type.Literal('sig')
})

/** The public keys other services verify access tokens with (get-jwks). Not part of the public API document. */
const jwks: FastifyPluginAsyncTypebox<JwksRoutesOptions> = async (app, options) => {
  app.get('/.well-known/jwks.json', {
    schema: { hide: true, response: { 200: Type.Object({ keys: Type.Array(Jwk) }) } }
  }, async (_request, reply) => {
    // no longer than the services keep a key (service-kit's KEY_TTL_MS): a cache in between must
    // not stretch how long a removed key is still accepted
    reply.header('cache-control', 'public, max-age=60')
    return { keys: options.keys() }
  })
}

export default jwks
