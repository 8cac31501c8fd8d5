import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses, HttpError } from '@topup/service-kit'
import { gameExists, insertProduct, updateProduct } from '../../db/catalog.js'
import { isUniqueViolation } from '../../db/errors.js'
import { CATALOG_PRICE, decimalAmount, notBlank, trimmed } from '../fields.js'
import { IdParams } from '../games/schemas.js'

const PRICE_PROBLEM = 'must be a decimal amount with at most two places, such as "699.00"'
const Price = Type.String({ pattern: CATALOG_PRICE.source, description: 'Decimal price as a string, at most two places (no sign, exponent or leading zeros)', examples: ['699.00'] })

const GameRef = Type.Integer({ minimum: 1, maximum: 2147483647, description: "The game's numeric id (`id` in GET /api/games/)", examples: [1] })

const Product = Type.Object({
  id: Type.Integer({ examples: [4] }),
  game: Type.Integer({ description: "The game's numeric id", examples: [1] }),
  name: Type.String({ examples: ['UC Pack 500'] }),
  price: Type.String({ examples: ['699.00'] }),
  in_game_currency: Type.String({ examples: ['500 UC'] })
}, { description: 'The product' })

const ProductName = Type.String({ minLength: 1, maxLength: 100, description: 'Stored trimmed; must not be blank; unique within its game', examples: ['UC Pack 500'] })

// the price gets a plain-words 400 before the schema's; names are trimmed once the schema has passed them
const priceCheck = [notBlank('name', 'in_game_currency'), decimalAmount('price', CATALOG_PRICE, PRICE_PROBLEM)]
const nameTrim = trimmed('name', 'in_game_currency')
/**
 * What the product gives, as text like the original system's CharField
 * ("500 UC"); a whole number (500) is taken too and stored as its digits, so
 * clients written for the earlier integer keep working.
 */
const Currency = Type.Union([
  Type.String({ minLength: 1, maxLength: 100, description: 'text such as "500 UC"' }),
  Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'a whole number such as 500' })
], { description: 'What the product gives in the game, e.g. "500 UC" (stored as text, trimmed)', examples: ['500 UC'] })

const CreateProductBody = Type.Object({
  game: GameRef,
  name: ProductName,
  price: Price,
  in_game_currency: Currency
}, { additionalProperties: false })

const UpdateProductBody = Type.Object({
  game: Type.Optional(GameRef),
  name: Type.Optional(ProductName),
  price: Type.Optional(Price),
  in_game_currency: Type.Optional(Currency)
}, { additionalProperties: false })

const productView = (p: { id: number, game_id: number, name: string, price: string, in_game_currency: string }) =>
  ({ id: p.id, game: p.game_id, name: p.name, price: p.price, in_game_currency: p.in_game_currency })

const noSuchGame = () => new HttpError(400, 'Game not found.', [{ field: 'game', message: 'no game has this id' }])
const duplicate = () => new HttpError(409, 'This game already has a product with this name.')

const products: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/products/', {
    onRequest: app.requireStaff,
    schema: {
      tags: ['catalog'],
      summary: 'Create a product (staff)',
      security: [{ bearerAuth: [] }],
      body: CreateProductBody,
      response: { 201: Product, ...errorResponses(400, 401, 403, 409) }
    },
    preValidation: priceCheck,
    preHandler: nameTrim
  }, async (request, reply) => {
    const { game, name, price, in_game_currency: inGameCurrency } = request.body
    if (!await gameExists(app.db, game)) throw noSuchGame()
    try {
      const product = await insertProduct(app.db, { game_id: game, name, price, in_game_currency: String(inGameCurrency) })
      return await reply.code(201).send(productView(product))
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate()
      throw err
    }
  })

  app.patch('/api/products/:id', {
    onRequest: app.requireStaff,
    schema: {
      tags: ['catalog'],
      summary: 'Update a product (staff)',
      security: [{ bearerAuth: [] }],
      params: IdParams,
      body: UpdateProductBody,
      response: { 200: Product, ...errorResponses(400, 401, 403, 404, 409) }
    },
    preValidation: priceCheck,
    preHandler: nameTrim
  }, async (request) => {
    const { game, name, price, in_game_currency: inGameCurrency } = request.body
    if (game !== undefined && !await gameExists(app.db, game)) throw noSuchGame()
    try {
      const product = await updateProduct(app.db, request.params.id, {
        ...(game === undefined ? {} : { game_id: game }),
        ...(name === undefined ? {} : { name }),
        ...(price === undefined ? {} : { price }),
        ...(inGameCurrency === undefined ? {} : { in_game_currency: String(inGameCurrency) })
      })
      if (product === undefined) throw new HttpError(404, 'Product not found.')
      return productView(product)
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate()
      throw err
    }
  })
}

export default products
