import { Type, type TString, type TUnsafe } from 'typebox'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.js'

/** The user fields, shared by the routes and the create-staff CLI. */
export const Username = Type.String({
  minLength: 3,
  maxLength: 150,
  pattern: '^[A-Za-z0-9_.@+-]+$',
  description: '3–150 letters, digits and _ . @ + -; unique regardless of case'
})
export const Email = Type.String({ format: 'email', maxLength: 254, description: 'unique regardless of case; stored lower-cased' })
export const Password = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH}–${PASSWORD_MAX_LENGTH} characters, at least two kinds (lower, upper, digits, symbols), not containing the username, not a common password`
})
export const PhoneNumber = Type.String({ pattern: '^\\+?[0-9][0-9 ().-]{2,30}$', maxLength: 32, description: 'digits, optionally with a leading + and spaces, dots, dashes or parentheses' })
export const DateOfBirth = Type.String({ format: 'date', description: 'YYYY-MM-DD, in the past' })
export const PreferredGame = Type.String({ minLength: 1, maxLength: 100 })

/**
 * A string field that may also be null: one `type: ['string', 'null']` rather
 * than a union, so a bad value gets one clear error (its format or pattern).
 */
export function Nullable (schema: TString): TUnsafe<string | null> {
  return Type.Unsafe<string | null>({ ...schema, type: ['string', 'null'] })
}
