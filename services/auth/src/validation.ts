import { HttpError } from '@topup/service-kit'

/** A 400 naming one field, in the same shape as schema validation failures. */
export function fieldError (field: string, message: string): HttpError {
  return new HttpError(400, `Invalid body: ${field} ${message}`, [{ field, message }])
}

/** date_of_birth: a real calendar date, not in the future and not before 1900. */
export function dateOfBirthProblem (value: string): string | undefined {
  const date = new Date(`${value}T00:00:00Z`)
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) return 'must be a valid date (YYYY-MM-DD)'
  if (date.getTime() > Date.now()) return 'must not be in the future'
  if (value < '1900-01-01') return 'must not be before 1900-01-01'
  return undefined
}
