import { Type } from 'typebox'

/** docs/DESIGN.md §2 error shape, for route schemas (one per status code). */
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() })))
}, { description: 'Error (docs/DESIGN.md §2): statusCode, error, message, and details for validation failures' })


/** The error responses of a route, keyed by status code, for its `response` schema. */
export function errorResponses (...codes: number[]): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(codes.map((code) => [code, ErrorResponse]))
}
