import { Type } from 'typebox'

/** docs/DESIGN.md §2 error shape, for route schemas (one per status code). */
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() })))
}, { description: 'Error: statusCode, error, message, and for a refused request `details`, each field and what is wrong with it' })


const ErrorFields = ErrorResponse.properties

/** What each error status means here, and an answer as the client gets it (what the API reference shows). */
const ERRORS: Record<number, { description: string, example: { statusCode: number, error: string, message: string, details?: Array<{ field: string, message: string }> } }> = {
  400: { description: 'The request is refused: `details` names each field and what is wrong with it', example: { statusCode: 400, error: 'Bad Request', message: 'Invalid body: product_price must be a decimal string such as "699.00", or a JSON number such as 699', details: [{ field: 'product_price', message: 'must be a decimal string such as "699.00", or a JSON number such as 699' }] } },
  401: { description: 'No access token, or one that is no good (expired: refresh it); `WWW-Authenticate: Bearer` says which', example: { statusCode: 401, error: 'Unauthorized', message: 'Access token expired.' } },
  403: { description: 'The token is fine but not allowed here (a player on a staff route)', example: { statusCode: 403, error: 'Forbidden', message: 'Staff access required.' } },
  404: { description: 'Nothing here with this id', example: { statusCode: 404, error: 'Not Found', message: 'Order not found.' } },
  409: { description: 'Conflicts with what is there already', example: { statusCode: 409, error: 'Conflict', message: 'Transaction is already success.' } },
  413: { description: 'The body is larger than allowed', example: { statusCode: 413, error: 'Payload Too Large', message: 'Request body is too large' } },
  415: { description: 'The body is not JSON (send Content-Type: application/json)', example: { statusCode: 415, error: 'Unsupported Media Type', message: 'Unsupported Media Type: text/plain' } },
  422: { description: 'Well-formed but cannot be done as asked', example: { statusCode: 422, error: 'Unprocessable Entity', message: 'This Idempotency-Key was already used with a different request body.' } },
  429: { description: 'Too many requests: wait the `Retry-After` seconds', example: { statusCode: 429, error: 'Too Many Requests', message: 'Too many requests, retry later.' } },
  503: { description: 'Temporarily unavailable: retry in a moment (`Retry-After`)', example: { statusCode: 503, error: 'Service Unavailable', message: 'The service is temporarily unavailable; retry in a moment.' } }
}

/** The error responses of a route, keyed by status code, for its `response` schema: the one error shape, each with its meaning and an example. */
export function errorResponses (...codes: number[]): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(codes.map((code) => {
    const known = ERRORS[code]
    return [code, known === undefined ? ErrorResponse : Type.Object(ErrorFields, { description: known.description, examples: [known.example] })]
  }))
}
