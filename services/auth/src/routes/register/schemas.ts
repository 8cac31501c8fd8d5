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
}, {
  additionalProperties: false,
  examples: [{ username: 'player1', email: 'p1@example.com', password: 'Sup3r-Secret-pw', phone_number: '+91 98765 43210', date_of_birth: '1998-04-12', preferred_game: 'clash of clan' }]
})

export const RegisteredUser = Type.Object({
  id: Type.String({ format: 'uuid', examples: ['f3c92171-2fd4-4ad1-b629-69f2597ef2b5'] }),
  username: Type.String({ examples: ['player1'] }),
  email: Type.String({ examples: ['p1@example.com'] })
}, { description: 'The account is created; log in with POST /api/token/' })

export const registerSchema = {
  tags: ['auth'],
  summary: 'Create a player account',
  description: 'Passwords are checked for strength; usernames and emails are unique regardless of case (409 names the taken field). Attempts are limited per client address → 429 with Retry-After.',
  body: RegisterBody,
  response: { 201: RegisteredUser, ...errorResponses(400, 409, 415, 429) }
}
