import { fileURLToPath } from 'node:url'

/** The repository's root (this file is scripts/common/paths.ts). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
