import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<unknown>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pgcrypto`.execute(db)
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('username', 'varchar(150)', (c) => c.notNull())
    .addColumn('email', 'varchar(254)', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('phone_number', 'varchar(32)')
    .addColumn('date_of_birth', 'date')
    .addColumn('preferred_game', 'varchar(100)')
    .addColumn('is_staff', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // usernames and emails are unique regardless of case
  await sql`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`.execute(db)
  await sql`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('users').execute()
}
