import { Type } from 'typebox'
import { errorResponses } from '@topup/service-kit'

export const TokenPair = Type.Object({
  access: Type.String({ description: 'ES256 access token (JWT): Authorization: Bearer <access>. When it expires (401 with `WWW-Authenticate: Bearer error="invalid_token"`), get a new pair from /api/token/refresh/' }),
  refresh: Type.String({ description: 'opaque refresh token; each use returns a new one and retires the old' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds until the access token expires (900: 15 minutes)', examples: [900] })
}, {
  description: 'An access token (15 minutes) and a refresh token',
  examples: [{ access: 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ik…', refresh: 'k3Xn0v9Qb2Lr7TzWq5YhF8sJd1GmA4cVe6NuPoK0iRw', token_type: 'Bearer', expires_in: 900 }]
})

const RefreshBody = Type.Object({
  refresh: Type.String({ minLength: 1, maxLength: 256, description: 'The refresh token of the last token response' })
}, { additionalProperties: false, examples: [{ refresh: 'k3Xn0v9Qb2Lr7TzWq5YhF8sJd1GmA4cVe6NuPoK0iRw' }] })

export const loginSchema = {
  tags: ['auth'],
  summary: 'Log in: exchange username and password for an access and a refresh token',
  description: 'Wrong username or password → 401 (one message for both). Failed logins are throttled per account and client address pair, per client address and (much higher) per account → 429 with Retry-After.',
  body: Type.Object({
    username: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 })
  }, { additionalProperties: false, examples: [{ username: 'player1', password: 'Sup3r-Secret-pw' }] }),
  response: { 200: TokenPair, ...errorResponses(400, 401, 415, 429) }
}

export const refreshSchema = {
  tags: ['auth'],
  summary: 'Rotate a refresh token: a new access and refresh token',
  description: 'Use it when the access token has expired (a 401 with `WWW-Authenticate: Bearer error="invalid_token"`) or is about to (`expires_in`). A refresh token works once: keep the new one. Presenting a used or revoked one → 401 and every refresh token of its family (all rotated from the same login) is revoked: log in again.',
  body: RefreshBody,
  response: { 200: TokenPair, ...errorResponses(400, 401, 415) }
}

export const logoutSchema = {
  tags: ['auth'],
  summary: 'Log out: revoke the refresh token and every token of its family',
  description: 'Idempotent: an unknown or already revoked token → 204 as well.',
  body: RefreshBody,
  response: { 204: Type.Null({ description: 'Logged out' }), ...errorResponses(400, 415) }
}
