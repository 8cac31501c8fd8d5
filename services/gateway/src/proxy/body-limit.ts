import { pipeline, Transform } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '@topup/service-kit'

// The proxy streams bodies through untouched (the payment webhook's signature
// covers the raw bytes), so Fastify's own bodyLimit does not apply: this does.

function bodyTooLarge (limit: number): HttpError {
  return new HttpError(413, `The request body is larger than the limit of ${limit} bytes.`)
}

export function limitBody (limit: number) {
  return async function preParsing (request: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream): Promise<NodeJS.ReadableStream> {
    const declared = request.headers['content-length']
    if (declared !== undefined) {
      // Node's parser guarantees the body is exactly this long.
      if (Number(declared) > limit) {
        // do not read (and discard) the rest of a large body to keep the connection
        reply.header('connection', 'close')
        throw bodyTooLarge(limit)
      }
      return payload
    }
    // HTTP/1.1: without content-length a body comes only chunked
    if (request.headers['transfer-encoding'] === undefined) return payload
    let received = 0
    const counter = new Transform({
      transform (chunk: Buffer, _encoding, callback) {
        received += chunk.length
        if (received > limit) callback(bodyTooLarge(limit))
        else callback(null, chunk)
      }
    })
    return pipeline(payload, counter, () => {})
  }
}
