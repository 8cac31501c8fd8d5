import { Type } from 'typebox'
import { errorResponses } from '@topup/service-kit'
import { DateOfBirth, Email, Nullable, PhoneNumber, PreferredGame } from '../../fields.js'

export const ProfileResponse = Type.Object({
  username: Type.String({ examples: ['player1'] }),
  email: Type.String({ examples: ['p1@example.com'] }),
  phone_number: Type.Union([Type.Null(), Type.String()]),
  date_of_birth: Type.Union([Type.Null(), Type.String({ format: 'date' })]),
  preferred_game: Type.Union([Type.Null(), Type.String()])
}, {
  description: 'The profile (null: not given)',
  examples: [{ username: 'player1', email: 'p1@example.com', phone_number: '+91 98765 43210', date_of_birth: '1998-04-12', preferred_game: 'clash of clan' }]
})

export const ProfilePatch = Type.Object({
  email: Type.Optional(Email),
  phone_number: Type.Optional(Nullable(PhoneNumber)),
  date_of_birth: Type.Optional(Nullable(DateOfBirth)),
  preferred_game: Type.Optional(Nullable(PreferredGame))
}, {
  additionalProperties: false,
  description: 'Only the given fields change; null clears an optional one. The username cannot change.',
  examples: [{ phone_number: '+91 98765 43210', preferred_game: 'PUBG Mobile' }]
})

const security = [{ bearerAuth: [] }]

export const getProfileSchema = {
  tags: ['auth'],
  summary: 'The logged-in user\'s profile',
  security,
  response: { 200: ProfileResponse, ...errorResponses(401) }
}

export const patchProfileSchema = {
  tags: ['auth'],
  summary: 'Change the logged-in user\'s email, phone number, date of birth or preferred game',
  security,
  body: ProfilePatch,
  response: { 200: ProfileResponse, ...errorResponses(400, 401, 409, 415) }
}
