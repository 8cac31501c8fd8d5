import type { FastifySchema, FastifySchemaCompiler } from 'fastify'
import { Ajv } from 'ajv'
import { createRequire } from 'node:module'
import type { FormatsPlugin } from 'ajv-formats'

// ajv-formats is CommonJS whose typed default export does not survive ESM interop
const addFormats = createRequire(import.meta.url)('ajv-formats') as FormatsPlugin

/**
 * Request validation for the auth routes. Fastify's default Ajv silently
 * strips unknown properties and coerces types; here an unknown field (say
 * `username` in a profile PATCH) or a number where a string belongs is a 400
 * naming the field, in the same error shape (service-kit's error handler).
 */
export function strictValidatorCompiler (): FastifySchemaCompiler<FastifySchema> {
  const ajv = new Ajv({ allErrors: true, removeAdditional: false, coerceTypes: false, useDefaults: true, strict: false })
  addFormats(ajv)
  return ({ schema }) => ajv.compile(schema as object)
}
