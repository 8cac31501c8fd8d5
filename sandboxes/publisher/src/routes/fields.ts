import { Type } from 'typebox'

/** The characters of an id the sandbox takes (player ids, servers, request ids): they go into paths as they are. */
const ID_PATTERN = '^[A-Za-z0-9._:-]+$'

export const PlayerId = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: ID_PATTERN,
  description: 'letters, digits and . _ : - only',
  examples: ['5123456789', '50312345', '40400001']
})

export const Server = Type.String({ minLength: 1, maxLength: 64, pattern: ID_PATTERN, description: 'letters, digits and . _ : - only', examples: ['asia-1'] })

export const RequestId = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: ID_PATTERN,
  description: 'letters, digits and . _ : - only',
  examples: ['fulfil:9b2f3c1e-6a4d-4c8e-9f1a-2b3c4d5e6f70']
})

export const Amount = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^\\S(.*\\S)?$',
  description: 'text such as "500 UC", with no space at either end',
  examples: ['500 UC']
})

export const OrderId = Type.String({ minLength: 1, maxLength: 200, examples: ['9b2f3c1e-6a4d-4c8e-9f1a-2b3c4d5e6f70'] })
