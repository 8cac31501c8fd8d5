import { Type } from 'typebox'
import { errorResponses } from '@topup/service-kit'
import { DateOfBirth, Email, Nullable, PhoneNumber, PreferredGame } from '../../fields.js'

export const ProfileResponse = Type.Object({
  username: Type.String({ examples: ['player_one'] }),
  email: Type.String({ examples: ['player@example.com'] }),
  phone_number: Type.Union([Type.Null(), Type.String()]),
  date_of_birth: Type.Union([Type.Null(), Type.String({ format: 'date' })]),
  preferred_game: Type.Union([Type.Null(), Type.String()])
})

export const ProfilePatch = Type.Object({
  email: Type.Optional(Email),
  phone_number: Type.Optional(Nullable(PhoneNumber)),
  date_of_birth: Type.Optional(Nullable(DateOfBirth)),
  preferred_game: Type.Optional(Nullable(PreferredGame))
}, { additionalProperties: false, description: 'Only the given fields change; null clears an optional one. The username cannot change.' })

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
