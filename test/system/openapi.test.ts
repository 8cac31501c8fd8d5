/**
 * The merged API reference against the real services: it is valid OpenAPI 3,
 * it lists exactly the public routes the services register, real responses
 * match what it documents, and its pages work in a real browser.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { compileErrors, dereference, validate } from '@readme/openapi-parser'
import type { OpenAPIV3 } from 'openapi-types'
import { launchBrowser } from '@topup/service-kit/testing'
import { demoTopup, startSystem, type HttpResult, type System } from './harness.js'

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

/** `/api/orders/:id` (Fastify) → `/api/orders/{id}` (OpenAPI). */
const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

async function mergedDocument (system: System): Promise<OpenAPIV3.Document> {
  const res = await system.http<OpenAPIV3.Document>('GET', '/api/schema/')
  if (res.status !== 200) throw new Error(`GET /api/schema/: ${res.status}`)
  return res.body
}

t.test('the merged document is valid OpenAPI 3 and lists exactly the public routes of the services', async (t) => {
  const system = await startSystem(t)
  const document = await mergedDocument(system)
  const result = await validate(structuredClone(document) as never)
  t.ok(result.valid, result.valid ? 'valid OpenAPI 3.0' : compileErrors(result))

  const running = new Map([['auth', system.auth.app], ['orders', system.orders[0]?.app], ['payments', system.payments[0]?.app], ['analytics', system.analytics?.app]])
  // what the services register as public: under /api/, not hidden
  const registered = new Set<string>()
  for (const [service, app] of running) {
    for (const route of app?.routeTable ?? []) {
      if (route.hidden || route.method === 'HEAD' || !route.url.startsWith('/api/')) continue
      registered.add(`${service} ${route.method} ${openApiPath(route.url)}`)
    }
  }
  // what the document says
  const documented = new Set<string>()
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item?.[method] as (OpenAPIV3.OperationObject & { 'x-service'?: string }) | undefined
      if (operation === undefined) continue
      const service = operation['x-service'] ?? '?'
      if (running.has(service)) documented.add(`${service} ${method.toUpperCase()} ${path}`)
      t.ok(operation.summary !== undefined && operation.summary !== '', `${method.toUpperCase()} ${path} has a summary`)
      t.ok((operation.tags ?? []).length > 0, `${method.toUpperCase()} ${path} has a tag`)
    }
  }
  t.ok(registered.size >= 15, `the services register ${registered.size} public operations`)
  t.same([...documented].sort(), [...registered].sort(), 'every public route is documented, and nothing else')

  const schemes = document.components?.securitySchemes ?? {}
  t.match(schemes.bearerAuth, { type: 'http', scheme: 'bearer' })
  t.match(schemes.webhookSignature, { type: 'apiKey', in: 'header', name: 'X-Topup-Signature' })
  const topup = document.paths['/api/topup/']?.post
  t.match(JSON.stringify(topup), /clash of clan/, 'the top-up example of docs/DESIGN.md §2.1')
  t.match(JSON.stringify(document.paths['/api/payment/webhook/']), /t=\d+,v1=[0-9a-f]{64}/, 'a signed webhook example')

  // written for the API's users: no pointer into our design notes or code, no environment variable, no internal names
  const INTERNAL = /DESIGN|§|docs\/|\b[A-Z][A-Z0-9]*_[A-Z0-9_]{2,}\b|read model|\bCOPY\b|OrderCreated|PaymentStatusChanged|outbox|RabbitMQ/
  const texts: Array<{ where: string, text: string }> = []
  const collect = (value: unknown, where: string): void => {
    if (Array.isArray(value)) { value.forEach((v, i) => { collect(v, `${where}[${i}]`) }); return }
    if (value === null || typeof value !== 'object') return
    for (const [key, child] of Object.entries(value)) {
      if ((key === 'description' || key === 'summary') && typeof child === 'string') texts.push({ where: `${where}.${key}`, text: child })
      else collect(child, `${where}.${key}`)
    }
  }
  collect({ info: document.info, paths: document.paths, components: document.components, tags: document.tags }, '$')
  const leaks = texts.filter((x) => INTERNAL.test(x.text))
  t.ok(texts.length > 100, `${texts.length} descriptions and summaries read`)
  t.same(leaks, [], 'no internal reference in a public description')
  for (const tag of document.tags ?? []) t.ok((tag.description ?? '') !== '', `tag ${tag.name} has a description`)
})

t.test('real responses match the documented schema for their status code', async (t) => {
  const system = await startSystem(t)
  const document = await dereference(structuredClone(await mergedDocument(system)) as never) as OpenAPIV3.Document
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv)
  const compiled = new Map<string, ValidateFunction>()

  let checked = 0
  function check (method: string, path: string, res: HttpResult<unknown>): void {
    const operation = document.paths[path]?.[method.toLowerCase() as typeof METHODS[number]] as OpenAPIV3.OperationObject | undefined
    const response = operation?.responses[String(res.status)] as OpenAPIV3.ResponseObject | undefined
    if (response === undefined) {
      t.fail(`${method} ${path} → ${res.status} is not documented`)
      return
    }
    const schema = response.content?.['application/json']?.schema
    if (schema === undefined) {
      t.equal(res.text, '', `${method} ${path} → ${res.status} has no documented body, and sends none`)
      checked++
      return
    }
    const key = `${method} ${path} ${res.status}`
    let validateBody = compiled.get(key)
    if (validateBody === undefined) {
      validateBody = ajv.compile(schema)
      compiled.set(key, validateBody)
    }
    const ok = validateBody(res.body)
    t.ok(ok, `${key} matches its documented schema${ok ? '' : `: ${ajv.errorsText(validateBody.errors)}`}`)
    checked++
  }

  const username = `doc_${randomBytes(4).toString('hex')}`
  const password = 'Correct-Horse-42-battery'
  const register = (body: unknown) => system.http('POST', '/api/register/', { body })
  check('POST', '/api/register/', await register({ username, email: `${username}@example.com`, password }))
  check('POST', '/api/register/', await register({ username, email: `${username}@example.com`, password }))
  check('POST', '/api/register/', await register({ username: 'x', email: 'nope', password: 'short' }))
  const login = await system.http<{ access: string, refresh: string }>('POST', '/api/token/', { body: { username, password } })
  check('POST', '/api/token/', login)
  check('POST', '/api/token/', await system.http('POST', '/api/token/', { body: { username, password: 'wrong-password-1' } }))
  const token = login.body.access
  check('GET', '/api/profile/', await system.http('GET', '/api/profile/', { token }))
  check('GET', '/api/profile/', await system.http('GET', '/api/profile/'))
  check('PATCH', '/api/profile/', await system.http('PATCH', '/api/profile/', { token, body: { preferred_game: 'clash of clan' } }))
  const refreshed = await system.http<{ refresh: string }>('POST', '/api/token/refresh/', { body: { refresh: login.body.refresh } })
  check('POST', '/api/token/refresh/', refreshed)
  check('POST', '/api/token/refresh/', await system.http('POST', '/api/token/refresh/', { body: { refresh: login.body.refresh } }))
  check('POST', '/api/logout/', await system.http('POST', '/api/logout/', { body: { refresh: refreshed.body.refresh } }))

  check('GET', '/api/games/', await system.http('GET', '/api/games/'))
  check('POST', '/api/games/', await system.http('POST', '/api/games/', { token, body: { name: 'x', game_id: 'y' } }))
  const order = await system.http<{ order_id: string, transaction_id: string }>('POST', '/api/topup/', { token, body: demoTopup })
  check('POST', '/api/topup/', order)
  check('POST', '/api/topup/', await system.http('POST', '/api/topup/', { token, body: { ...demoTopup, product_price: '1.00' } }))
  check('POST', '/api/topup/', await system.http('POST', '/api/topup/', { body: demoTopup }))
  check('GET', '/api/orders/', await system.http('GET', '/api/orders/', { token }))
  check('GET', '/api/orders/{id}', await system.http('GET', `/api/orders/${order.body.order_id}`, { token }))
  check('GET', '/api/orders/{id}', await system.http('GET', `/api/orders/${randomUUID()}`, { token }))

  await system.waitFor(async () => await system.payments[0]?.db.selectFrom('transactions').select('status')
    .where('transaction_id', '=', order.body.transaction_id).executeTakeFirst(), { what: 'the transaction at payments' })
  check('POST', '/api/payment/webhook/', await system.pay(order.body.transaction_id, 'success'))
  check('POST', '/api/payment/webhook/', await system.pay(order.body.transaction_id, 'failed'))
  check('POST', '/api/payment/webhook/', await system.pay(randomUUID(), 'success'))
  check('POST', '/api/payment/webhook/', await system.pay(order.body.transaction_id, 'success', { secret: 'not-the-secret-at-all' }))
  t.equal(checked, 23, `${checked} real responses checked against the document`)
})

t.test('Swagger UI and ReDoc render every operation in Chromium, with nothing loaded from elsewhere', async (t) => {
  const system = await startSystem(t)
  const document = await mergedDocument(system)
  const operations = Object.values(document.paths).flatMap((item) => METHODS.filter((m) => item?.[m] !== undefined)).length
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()} at ${message.location().url}`) })
  page.on('response', (response) => { if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`) })
  page.on('pageerror', (err) => { problems.push(`page error: ${err.message}`) })
  page.on('requestfailed', (request) => { problems.push(`failed: ${request.url()} ${request.failure()?.errorText ?? ''}`) })
  page.on('request', (request) => { if (!request.url().startsWith(system.url) && !request.url().startsWith('data:') && !request.url().startsWith('blob:')) problems.push(`outside request: ${request.url()}`) })

  await page.goto(`${system.url}/api/docs/`)
  await page.waitForSelector('.opblock', { timeout: 20_000 })
  t.equal(await page.locator('.opblock').count(), operations, `Swagger UI shows all ${operations} operations`)
  t.ok(await page.locator('button.authorize').count() > 0, 'with an Authorize button')

  // "Try it out" through the gateway, as a logged-in player
  const username = `ui_${randomBytes(4).toString('hex')}`
  await system.register(username)
  const { access } = await system.login(username)
  await page.locator('button.authorize').first().click()
  const bearerInput = page.locator('.modal-ux input[type=text]').first()
  await bearerInput.fill(access)
  await page.locator('.modal-ux button.authorize').first().click()
  await page.locator('.modal-ux button.btn-done').first().click()
  const topupBlock = page.locator('#operations-orders-post_api_topup_')
  await topupBlock.locator('.opblock-summary').click()
  const bodyEditor = topupBlock.locator('textarea.body-param__text')
  const tryOut = topupBlock.locator('button.try-out__btn')
  await tryOut.waitFor({ timeout: 10_000 })
  if ((await tryOut.innerText()).trim() === 'Try it out') await tryOut.click()
  await bodyEditor.waitFor({ timeout: 10_000 })
  await bodyEditor.fill(JSON.stringify(demoTopup))
  await topupBlock.locator('button.execute').click()
  const status = topupBlock.locator('.live-responses-table tbody .response-col_status').first()
  await status.waitFor({ timeout: 15_000 })
  t.equal((await status.innerText()).trim(), '201', 'the order was placed from the page')
  const orders = await system.http<{ results: unknown[] }>('GET', '/api/orders/', { token: access })
  t.equal(orders.body.results.length, 1, 'and it exists')
  await page.screenshot({ path: 'test-artifacts/swagger-ui.png', fullPage: false })

  await page.goto(`${system.url}/api/redoc/`)
  await page.waitForSelector('[data-section-id^="operation/"], [id^="operation/"], .menu-content', { timeout: 20_000 })
  await page.waitForFunction('document.querySelectorAll("li[data-item-id] label").length > 0', undefined, { timeout: 20_000 })
  const menuOperations = await page.locator('li[data-item-id*="paths/"], li[data-item-id^="tag/"] li[data-item-id]').count()
  t.ok(menuOperations >= operations, `ReDoc lists the operations (${menuOperations} menu entries)`)
  await page.screenshot({ path: 'test-artifacts/redoc.png', fullPage: false })

  t.same(problems, [], 'no console error, failed request or outside request')
})
