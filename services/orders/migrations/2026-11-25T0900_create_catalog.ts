import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('games')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('games_name_unique').on('games').expression(sql`lower(name)`).unique().execute()

  await db.schema.createTable('products')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('game_id', 'integer', (c) => c.notNull().references('games.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('price', sql`numeric(12,2)`, (c) => c.notNull().check(sql`price >= 0`))
    .addColumn('in_game_currency', 'integer', (c) => c.notNull().check(sql`in_game_currency > 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('products_game_name_unique', ['game_id', 'name'])
    .execute()
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('products').execute()
  await db.schema.dropTable('games').execute()
}
