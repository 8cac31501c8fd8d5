import { Type } from 'typebox'

/** docs/DESIGN.md §2 error shape, for route schemas (one per status code). */
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() })))
}, { description: 'Error: statusCode, error, message, and for a refused request `details`, each field and what is wrong with it' })


/** The error responses of a route, keyed by status code, for its `response` schema. */
export function errorResponses (...codes: number[]): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(codes.map((code) => [code, ErrorResponse]))
}
