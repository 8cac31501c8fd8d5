/** PostgreSQL unique_violation: turned into a 409 by the routes. */
export function isUniqueViolation (err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505'
}
