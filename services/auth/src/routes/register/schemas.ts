import { Type } from 'typebox'
import { errorResponses } from '@topup/service-kit'
import { DateOfBirth, Email, Nullable, Password, PhoneNumber, PreferredGame, Username } from '../../fields.js'

export const RegisterBody = Type.Object({
  username: Username,
  email: Email,
  password: Password,
  phone_number: Type.Optional(Nullable(PhoneNumber)),
  date_of_birth: Type.Optional(Nullable(DateOfBirth)),
  preferred_game: Type.Optional(Nullable(PreferredGame))
}, { additionalProperties: false })

export const RegisteredUser = Type.Object({
  id: Type.String({ format: 'uuid' }),
  username: Type.String({ examples: ['player_one'] }),
  email: Type.String({ examples: ['player@example.com'] })
})

export const registerSchema = {
  tags: ['auth'],
  summary: 'Create a player account',
  description: 'Passwords are checked for strength; usernames and emails are unique regardless of case (409 names the taken field). Attempts are limited per client address → 429 with Retry-After.',
  body: RegisterBody,
  response: { 201: RegisteredUser, ...errorResponses(400, 409, 415, 429) }
}
