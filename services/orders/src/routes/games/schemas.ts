import { Type } from 'typebox'

export const Money = Type.String({ pattern: '^\\d{1,10}\\.\\d{2}$', description: 'Decimal amount with two places', examples: ['699.00'] })

export const ProductSummary = Type.Object({
  id: Type.Integer({ description: "The product's id (the top-up's product_id)", examples: [4] }),
  name: Type.String({ examples: ['UC Pack 500'] }),
  price: Money,
  in_game_currency: Type.String({ description: 'what the product gives in the game', examples: ['500 UC'] })
})

export const GameWithProducts = Type.Object({
  id: Type.Integer({ examples: [1] }),
  name: Type.String({ description: "The game's name (the top-up's gamename)", examples: ['clash of clan'] }),
  game_id: Type.String({ description: "The game's code (the top-up's game_id)", examples: ['coc123'] }),
  is_active: Type.Boolean(),
  products: Type.Array(ProductSummary)
})

export const Game = Type.Object({
  id: Type.Integer({ examples: [1] }),
  name: Type.String({ examples: ['clash of clan'] }),
  game_id: Type.String({ description: "The game's code", examples: ['coc123'] }),
  is_active: Type.Boolean()
}, { description: 'The game' })

const GameName = Type.String({ minLength: 1, maxLength: 100, description: 'Stored trimmed; must not be blank; unique regardless of case', examples: ['clash of clan'] })
const GameCode = Type.String({ minLength: 1, maxLength: 50, pattern: '^[A-Za-z0-9_.-]+$', description: 'Letters, digits and _ . - (surrounding spaces are ignored); unique', examples: ['coc123'] })

export const CreateGameBody = Type.Object({
  name: GameName,
  game_id: GameCode,
  is_active: Type.Optional(Type.Boolean({ default: true }))
}, { additionalProperties: false })

export const UpdateGameBody = Type.Object({
  name: Type.Optional(GameName),
  game_id: Type.Optional(GameCode),
  is_active: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647, examples: [1] }) })
