import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

/** The service's folder (the one with its package.json), from src/ under tap or dist/src/ once built. */
export function serviceRoot (from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === '@topup/analytics') return dir
    if (dirname(dir) === dir) throw new Error(`cannot find the analytics package above ${from}`)
  }
}

interface Asset { body: Buffer, type: string, etag: string }
export type DashboardAssets = Record<string, Asset>

function asset (path: string, type: string): Asset {
  const body = readFileSync(path)
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }
}

/**
 * Everything the dashboard page needs, read once at start: the page, its
 * script, the Tailwind CSS compiled by `npm run build:css` and Chart.js's UMD
 * build straight from node_modules. A missing CSS build stops the service at
 * start with the command that makes it.
 */
export function loadDashboardAssets (root = serviceRoot()): DashboardAssets {
  const css = join(root, 'public', 'build', 'dashboard.css')
  if (!existsSync(css)) {
    throw new Error(`the dashboard's CSS is missing (${css}): build it with \`npm run build:css -w @topup/analytics\` (or \`npm run build\` in services/analytics)`)
  }
  const require = createRequire(import.meta.url)
  const chart = join(dirname(require.resolve('chart.js')), 'chart.umd.js')
  return {
    page: asset(join(root, 'public', 'dashboard.html'), 'text/html; charset=utf-8'),
    'dashboard.css': asset(css, 'text/css; charset=utf-8'),
    'dashboard.js': asset(join(root, 'public', 'dashboard.js'), 'text/javascript; charset=utf-8'),
    'chart.umd.js': asset(chart, 'text/javascript; charset=utf-8')
  }
}

/**
 * GET /api/dashboard/ (public: the page holds no data; its figures come from
 * the staff-only summary) and its static assets, all same-origin so the
 * Content-Security-Policy can stay at 'self'.
 */
const dashboard: FastifyPluginAsyncTypebox<{ assets: DashboardAssets }> = async (app, { assets }) => {
  const send = (name: string) => async (request: { headers: Record<string, string | string[] | undefined> }, reply: FastifyReply) => {
    const file = assets[name]
    if (file === undefined) throw new Error(`unknown asset ${name}`)
    reply.header('etag', file.etag).header('cache-control', 'no-cache').type(file.type)
    if (request.headers['if-none-match'] === file.etag) return await reply.code(304).send()
    return await reply.send(file.body)
  }

  app.get('/api/dashboard/', {
    schema: {
      tags: ['analytics'],
      summary: 'The staff dashboard page (HTML; sign-in on the page, figures from the summary)',
      produces: ['text/html'],
      response: { 200: { description: 'The dashboard page', content: { 'text/html': { schema: Type.String() } } } }
    }
  }, send('page'))

  app.get('/api/dashboard/assets/:name', {
    schema: {
      tags: ['analytics'],
      summary: 'The dashboard\'s CSS, script and Chart.js',
      params: Type.Object({ name: Type.Union([Type.Literal('dashboard.css'), Type.Literal('dashboard.js'), Type.Literal('chart.umd.js')]) }),
      produces: ['text/css', 'text/javascript'],
      response: {
        200: { description: 'The file', content: { 'text/css': { schema: Type.String() }, 'text/javascript': { schema: Type.String() } } },
        304: { description: 'Not modified (ETag)', type: 'null' }
      }
    }
  }, async (request, reply) => await send(request.params.name)(request, reply))
}

export default dashboard
