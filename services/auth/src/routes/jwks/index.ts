import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { PublicJwk } from '../../keys.js'

export interface JwksRoutesOptions {
  keys: PublicJwk[]
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
    reply.header('cache-control', 'public, max-age=300')
    return { keys: options.keys }
  })
}

export default jwks
