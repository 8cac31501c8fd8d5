/* global document, history, location, Chart, matchMedia */
// The dashboard's page logic (a module: strict, nothing global). Staff sign in
// here through the same origin (the gateway's /api/token/); the access and
// refresh tokens live in sessionStorage (this tab only). Every figure comes from
// the staff-only /api/analytics/summary/; nothing is shown without a staff token.
// The figures follow the read model live: /api/analytics/live/ (Server-Sent
// Events, read with fetch so the bearer token can be sent) says when something
// changed, and the page reloads the summary (at most every REFRESH_GAP_MS).

const ACCESS_KEY = 'topup.analytics.access'
const REFRESH_KEY = 'topup.analytics.refresh'
const PRESETS = ['today', 'last_7_days', 'last_30_days', 'month_to_date', 'last_month']
const DATE = /^\d{4}-\d{2}-\d{2}$/
/** A change is shown this soon after it is heard (and a burst costs one reload). */
const REFRESH_DELAY_MS = 250
const REFRESH_GAP_MS = 1000
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

const $ = (id) => document.getElementById(id)
const charts = { daily: null, games: null }
const phone = matchMedia('(max-width: 639px)')
let currency = 'INR'
let timezone = 'UTC'
let refreshing = null
/** The applied range: { preset } or { start_date, end_date } (the address holds it too). */
let applied = {}
let lastSummary = null
let loads = 0
let loadSeq = 0

class SignedOut extends Error {}

// --- tokens -----------------------------------------------------------------

function claimsOf (token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')))
  } catch {
    return null
  }
}

function storeTokens (body) {
  sessionStorage.setItem(ACCESS_KEY, body.access)
  sessionStorage.setItem(REFRESH_KEY, body.refresh)
}

function clearTokens () {
  sessionStorage.removeItem(ACCESS_KEY)
  sessionStorage.removeItem(REFRESH_KEY)
}

/** One refresh at a time: concurrent 401s wait for the same new token. */
async function refreshTokens () {
  refreshing ??= (async () => {
    const refresh = sessionStorage.getItem(REFRESH_KEY)
    if (refresh === null) return false
    const res = await fetch('/api/token/refresh/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh }) })
    if (!res.ok) return false
    storeTokens(await res.json())
    return true
  })().finally(() => { refreshing = null })
  return await refreshing
}

const bearer = () => ({ authorization: `Bearer ${sessionStorage.getItem(ACCESS_KEY) ?? ''}` })

/** GET with the access token; on 401 one refresh and one retry, then back to the sign-in form. */
async function authorizedGet (url, init = {}) {
  const attempt = () => fetch(url, { ...init, headers: bearer() })
  let res = await attempt()
  if (res.status === 401) {
    if (await refreshTokens()) res = await attempt()
    if (res.status === 401) {
      showSignIn({ message: 'Your session has ended. Please sign in again.' })
      throw new SignedOut()
    }
  }
  if (res.status === 403) {
    showSignIn({ denied: 'This account does not have staff access, so the dashboard is not available to it.' })
    throw new SignedOut()
  }
  return res
}

// --- views ------------------------------------------------------------------

function showSignIn ({ message = '', denied = '' } = {}) {
  clearTokens()
  live.stop()
  destroyCharts()
  clearFigures()
  $('dashboard').hidden = true
  $('session').hidden = true
  $('signin').hidden = false
  $('signin-error').textContent = message
  $('signin-error').hidden = message === ''
  $('access-denied').textContent = denied
  $('access-denied').hidden = denied === ''
}

function showDashboard (claims) {
  $('signin').hidden = true
  $('access-denied').hidden = true
  $('dashboard').hidden = false
  $('session').hidden = false
  $('session-user').textContent = claims.email ?? claims.username ?? ''
  live.start()
}

async function signIn (event) {
  event.preventDefault()
  const username = $('username').value.trim()
  const password = $('password').value
  if (username === '' || password === '') {
    showSignIn({ message: 'Enter your username and password.' })
    return
  }
  $('signin-submit').disabled = true
  try {
    const res = await fetch('/api/token/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
    if (res.status === 401) return showSignIn({ message: 'Wrong username or password.' })
    if (res.status === 429) return showSignIn({ message: 'Too many attempts. Wait a minute and try again.' })
    if (!res.ok) return showSignIn({ message: `Sign-in failed (HTTP ${res.status}). Try again later.` })
    const body = await res.json()
    const claims = claimsOf(body.access)
    if (claims === null || claims.staff !== true) {
      const who = claims?.username ?? username
      return showSignIn({ denied: `You are signed in as ${who}, which is not a staff account: the dashboard is for staff only.` })
    }
    storeTokens(body)
    $('password').value = ''
    showDashboard(claims)
    await load()
  } catch (err) {
    if (!(err instanceof SignedOut)) showSignIn({ message: 'The server could not be reached. Try again.' })
  } finally {
    $('signin-submit').disabled = false
  }
}

function signOut () {
  const refresh = sessionStorage.getItem(REFRESH_KEY)
  if (refresh !== null) {
    fetch('/api/logout/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh }) }).catch(() => {})
  }
  showSignIn()
}

// --- formats: ISO dates, Indian grouping, the currency everywhere --------------

const integer = new Intl.NumberFormat('en-IN')
const formats = new Map()
function numberFormat (options) {
  const key = JSON.stringify([currency, options])
  if (!formats.has(key)) {
    try {
      formats.set(key, new Intl.NumberFormat('en-IN', { style: 'currency', currency, ...options }))
    } catch {
      formats.set(key, null)
    }
  }
  return formats.get(key)
}

/** ₹1,23,45,678.00: every amount in full, two decimals. */
function money (value) {
  const format = numberFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 })
  return format === null ? `${value} ${currency}` : format.format(Number(value))
}

/** ₹1.23Cr, ₹4.5L, ₹999: for a phone's narrow cards and the chart's axis. */
function compactMoney (value) {
  const format = numberFormat({ notation: 'compact', maximumFractionDigits: 2 })
  return format === null ? `${value} ${currency}` : format.format(Number(value))
}

/** A big figure: in full, or compact on a phone (the full amount stays in its title). */
function setAmount (element, value) {
  element.dataset.value = value
  element.title = money(value)
  element.textContent = phone.matches && Number(value) >= 100_000 ? compactMoney(value) : money(value)
}

const monthName = (month) => `${MONTHS[Number(month.slice(5, 7)) - 1]} ${month.slice(0, 4)}`

const timeFormats = new Map()
/** An instant as YYYY-MM-DD HH:MM:SS in the business time zone (never the browser's locale order). */
function dateTime (iso) {
  if (!timeFormats.has(timezone)) {
    timeFormats.set(timezone, new Intl.DateTimeFormat('en-GB', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }))
  }
  const parts = Object.fromEntries(timeFormats.get(timezone).formatToParts(new Date(iso)).map((p) => [p.type, p.value]))
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`
}

/** "▲ 25.00% vs 2026-02-14 – 2026-02-28", or why there is nothing to compare. */
function changeText (element, value, { points = false } = {}) {
  element.classList.remove('text-emerald-700', 'text-red-700', 'text-slate-500')
  if (value === null || value === undefined) {
    element.textContent = 'no previous figure to compare'
    element.classList.add('text-slate-500')
    return
  }
  const n = Number(value)
  const arrow = n > 0 ? '▲' : n < 0 ? '▼' : '='
  const unit = points ? ' pts' : '%'
  element.textContent = `${arrow} ${n > 0 ? '+' : ''}${value}${unit} vs previous period`
  element.classList.add(n > 0 ? 'text-emerald-700' : n < 0 ? 'text-red-700' : 'text-slate-500')
  element.dataset.value = value
}

// --- figures ----------------------------------------------------------------

function queryOf (range) {
  const params = new URLSearchParams()
  if (range.preset !== undefined) params.set('preset', range.preset)
  else {
    if (range.start_date) params.set('start_date', range.start_date)
    if (range.end_date) params.set('end_date', range.end_date)
  }
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

function cell (text, { right = false, value, nowrap = false, className = '' } = {}) {
  const td = document.createElement('td')
  td.className = `${right ? 'whitespace-nowrap py-2 pl-3 text-right' : nowrap ? 'whitespace-nowrap py-2 pr-3' : 'py-2 pr-3'} ${className}`.trim()
  td.textContent = text
  if (value !== undefined) td.dataset.value = String(value)
  return td
}

/** An amount in a table: in full, compact on a phone from ₹1 lakh (the full amount in its title). */
function moneyCell (value) {
  const td = cell(phone.matches && Number(value) >= 100_000 ? compactMoney(value) : money(value), { right: true, value })
  td.title = money(value)
  return td
}

/** The product, with its game under it on a phone (where the game column is hidden). */
function productCell (p) {
  const td = cell(p.product_name, { value: p.product_name })
  const game = document.createElement('span')
  game.className = 'block text-xs text-slate-500 sm:hidden'
  game.textContent = p.game_name
  td.append(game)
  return td
}

function fillTable (id, rows, toCells, empty) {
  const body = $(id)
  body.replaceChildren()
  if (rows.length === 0) {
    const tr = document.createElement('tr')
    const td = cell(empty)
    td.colSpan = body.closest('table').querySelectorAll('thead th').length
    td.className = 'py-3 text-center text-slate-500'
    tr.append(td)
    body.append(tr)
    return
  }
  for (const row of rows) {
    const tr = document.createElement('tr')
    tr.append(...toCells(row))
    body.append(tr)
  }
}

/** Grey placeholder rows while the figures load. */
function skeletonRows (id, count) {
  const body = $(id)
  const columns = body.closest('table').querySelectorAll('thead th').length
  body.replaceChildren()
  for (let i = 0; i < count; i++) {
    const tr = document.createElement('tr')
    tr.dataset.skeleton = ''
    for (let c = 0; c < columns; c++) {
      const td = document.createElement('td')
      td.className = 'py-2 pr-3'
      const bar = document.createElement('span')
      bar.className = 'skeleton-cell'
      td.append(bar)
      tr.append(td)
    }
    body.append(tr)
  }
}

function destroyCharts () {
  for (const key of Object.keys(charts)) {
    charts[key]?.destroy()
    charts[key] = null
  }
}

/** No figure left from an earlier range or a failed load: dashes, empty tables, no charts. */
function clearFigures () {
  lastSummary = null
  for (const id of ['total-revenue', 'total-orders', 'average-order-value', 'success-rate', 'failed-payments']) {
    $(id).textContent = '–'
    delete $(id).dataset.value
    $(id).removeAttribute('title')
  }
  for (const id of ['change-revenue', 'change-orders', 'change-aov', 'change-success-rate', 'total-breakdown', 'failed-period']) $(id).textContent = ''
  for (const id of ['daily-body', 'products-body', 'users-body', 'failures-body']) $(id).replaceChildren()
  $('daily-empty').hidden = true
  $('games-empty').hidden = true
  destroyCharts()
  delete document.body.dataset.loaded
}

function showLoading () {
  $('dashboard').dataset.state = 'loading'
  clearFigures()
  for (const [id, rows] of [['daily-body', 8], ['products-body', 5], ['users-body', 5], ['failures-body', 2]]) skeletonRows(id, rows)
}

const tooltip = {
  callbacks: {
    title: (items) => items[0]?.label ?? '',
    label: (ctx) => ctx.dataset.yAxisID === 'orders' ? `${ctx.dataset.label}: ${integer.format(ctx.parsed.y)}` : `${ctx.dataset.label}: ${money(ctx.parsed.y ?? ctx.parsed.x)}`
  }
}

function drawCharts (summary) {
  destroyCharts()
  const empty = summary.totals.orders === 0
  $('daily-empty').textContent = `No orders between ${summary.start_date} and ${summary.end_date}.`
  $('daily-empty').hidden = !empty
  $('games-empty').textContent = 'No games with orders in this range.'
  $('games-empty').hidden = summary.revenue_by_game.length > 0
  $('daily-chart').hidden = empty
  $('games-chart').hidden = summary.revenue_by_game.length === 0
  const moneyAxis = { beginAtZero: true, ticks: { callback: (v) => compactMoney(v) } }
  if (!empty) {
    charts.daily = new Chart($('daily-chart'), {
      type: 'line',
      data: {
        labels: summary.daily_revenue.map((d) => d.date),
        datasets: [
          { label: `Revenue (${currency})`, data: summary.daily_revenue.map((d) => Number(d.revenue)), borderColor: '#4f46e5', backgroundColor: 'rgba(79, 70, 229, 0.12)', fill: true, tension: 0.3, cubicInterpolationMode: 'monotone', pointRadius: summary.daily_revenue.length <= 3 ? 5 : 2, yAxisID: 'y' },
          { label: 'Orders', type: 'bar', data: summary.daily_revenue.map((d) => d.orders), backgroundColor: 'rgba(14, 165, 233, 0.25)', borderRadius: 2, maxBarThickness: 48, yAxisID: 'orders' }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        // the tooltip of the day under the pointer, anywhere in its column (not only on the point)
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { display: !phone.matches, position: 'bottom', labels: { boxWidth: 12 } }, tooltip },
        scales: {
          y: moneyAxis,
          orders: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
          // full YYYY-MM-DD dates (a range can span years), horizontal, as many as fit (the table has every day)
          x: { ticks: { maxRotation: 0, autoSkipPadding: 16 } }
        }
      }
    })
  }
  if (summary.revenue_by_game.length > 0) {
    charts.games = new Chart($('games-chart'), {
      type: 'bar',
      data: {
        labels: summary.revenue_by_game.map((g) => g.game_name),
        datasets: [{ label: `Revenue (${currency})`, data: summary.revenue_by_game.map((g) => Number(g.revenue)), backgroundColor: '#0ea5e9', borderRadius: 4 }]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { display: false }, tooltip },
        scales: { y: moneyAxis }
      }
    })
  }
}

/** "Failed payments in March 2026" for a month (or the month so far), else the range itself. */
function failedLabel (summary) {
  const { start_date: start, end_date: end } = summary
  const month = start.slice(0, 7)
  const lastDay = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 0)).toISOString().slice(0, 10)
  if (start.endsWith('-01') && end.slice(0, 7) === month && (end === lastDay || end === summary.today)) {
    return { label: `Failed payments, ${monthName(month)}`, period: end === lastDay ? 'the whole month' : `to ${end} (today)` }
  }
  return { label: 'Failed payments', period: start === end ? start : `${start} – ${end}` }
}

function render (summary) {
  lastSummary = summary
  currency = summary.currency
  timezone = summary.timezone
  $('zone-name').textContent = summary.timezone
  if (document.activeElement !== $('start-date') && document.activeElement !== $('end-date')) {
    $('start-date').value = summary.start_date
    $('end-date').value = summary.end_date
  }
  for (const button of document.querySelectorAll('[data-preset]')) button.setAttribute('aria-pressed', String(applied.preset === button.dataset.preset))
  const t = summary.totals
  setAmount($('total-revenue'), t.revenue)
  $('total-orders').textContent = integer.format(t.orders)
  $('total-orders').dataset.value = String(t.orders)
  $('total-breakdown').textContent = `${integer.format(t.successful_orders)} successful · ${integer.format(t.failed_orders)} failed · ${integer.format(t.pending_orders)} pending`
  if (t.average_order_value === null) {
    $('average-order-value').textContent = '–'
    delete $('average-order-value').dataset.value
  } else {
    setAmount($('average-order-value'), t.average_order_value)
  }
  $('success-rate').textContent = t.success_rate === null ? '–' : `${t.success_rate}%`
  changeText($('change-revenue'), summary.change.revenue)
  changeText($('change-orders'), summary.change.orders)
  changeText($('change-aov'), summary.change.average_order_value)
  changeText($('change-success-rate'), summary.change.success_rate_points, { points: true })
  const failed = failedLabel(summary)
  $('failed-label').textContent = failed.label
  $('failed-payments').textContent = integer.format(t.failed_orders)
  $('failed-payments').dataset.value = String(t.failed_orders)
  $('failed-period').textContent = failed.period
  const emptyRange = t.orders === 0
  $('empty').textContent = emptyRange ? `No orders between ${summary.start_date} and ${summary.end_date} (${summary.timezone} days). Pick a longer range or another preset.` : ''
  $('empty').hidden = !emptyRange
  fillTable('daily-body', [...summary.daily_revenue].reverse(), (d) => [
    cell(d.date, { nowrap: true }), cell(integer.format(d.orders), { right: true, value: d.orders }),
    cell(integer.format(d.successful_orders), { right: true, value: d.successful_orders }), moneyCell(d.revenue)
  ], 'No days in range.')
  fillTable('products-body', summary.top_products, (p) => [
    productCell(p), cell(p.game_name, { className: 'hidden sm:table-cell' }), cell(integer.format(p.successful_orders), { right: true, value: p.successful_orders }), moneyCell(p.revenue)
  ], 'No successful orders in this range.')
  fillTable('users-body', summary.top_users, (u) => [cell(u.user_email), cell(integer.format(u.orders), { right: true, value: u.orders })], 'No orders in this range.')
  fillTable('failures-body', summary.failed_payments.by_month, (m) => [cell(`${m.month} (${MONTHS[Number(m.month.slice(5, 7)) - 1]})`), cell(integer.format(m.count), { right: true, value: m.count })], 'No months in range.')
  drawCharts(summary)
}

function showError (message) {
  $('dashboard').dataset.state = 'error'
  clearFigures()
  for (const id of ['daily-empty', 'games-empty']) {
    $(id).textContent = 'Not loaded: see the message above.'
    $(id).hidden = false
  }
  $('status').textContent = ''
  $('empty').hidden = true
  $('error-text').textContent = message
  $('error').hidden = false
}

/** What to do about a failed load, in words. */
function errorMessage (res, body) {
  if (res.status === 400) return `${body?.message ?? 'The dates were refused.'} Fix the dates (YYYY-MM-DD) and press Apply.`
  if (res.status === 503 || res.status === 502 || res.status === 504) return 'The analytics service is unavailable for a moment. Press Retry in a few seconds.'
  return `The figures could not be loaded (HTTP ${res.status}). Press Retry; if it keeps failing, tell the platform team.`
}

/**
 * Loads the summary of the applied range. `quiet` (a live refresh): the
 * figures on screen stay until the new ones replace them, no skeleton.
 */
async function load ({ quiet = false } = {}) {
  const seq = ++loadSeq
  $('error').hidden = true
  if (!quiet) {
    showLoading()
    $('status').textContent = 'Loading…'
  }
  try {
    const res = await authorizedGet(`/api/analytics/summary/${queryOf(applied)}`)
    const body = await res.json().catch(() => null)
    if (seq !== loadSeq) return
    if (!res.ok || body === null) {
      showError(errorMessage(res, body))
      return
    }
    render(body)
    $('dashboard').dataset.state = 'ready'
    const previous = `${body.previous.start_date} – ${body.previous.end_date}`
    $('status').textContent = `${body.start_date} – ${body.end_date} · days in ${body.timezone} · compared with ${previous} · updated ${dateTime(new Date().toISOString()).slice(11)}`
    document.body.dataset.loaded = `${body.start_date}..${body.end_date}`
    document.body.dataset.loads = String(++loads)
  } catch (err) {
    if (err instanceof SignedOut || seq !== loadSeq) return
    showError('The figures could not be loaded: the server did not answer. Check your connection, then press Retry.')
  }
}

function setRange (range) {
  applied = range
  for (const button of document.querySelectorAll('[data-preset]')) button.setAttribute('aria-pressed', String(range.preset === button.dataset.preset))
  // a preset's dates come with its figures (the server knows the business zone's today)
  if (range.preset !== undefined) {
    $('start-date').value = ''
    $('end-date').value = ''
  }
  const url = new URL(location.href)
  url.search = queryOf(range)
  history.replaceState(null, '', url)
}

function applyFilter (event) {
  event.preventDefault()
  const start = $('start-date').value.trim()
  const end = $('end-date').value.trim()
  for (const [field, value] of [['start-date', start], ['end-date', end]]) {
    if (value !== '' && !DATE.test(value)) {
      $(field).focus()
      showError(`${field === 'start-date' ? 'From' : 'To'} must be a date as YYYY-MM-DD, e.g. 2026-03-01.`)
      return
    }
  }
  setRange({ start_date: start, end_date: end })
  void load()
}

function applyPreset (event) {
  setRange({ preset: event.currentTarget.dataset.preset })
  void load()
}

async function download (event) {
  const button = event.currentTarget
  const label = button.textContent
  button.disabled = true
  button.textContent = 'Preparing…'
  try {
    // the range on screen, as dates (the export has no presets)
    const range = lastSummary === null ? applied : { start_date: lastSummary.start_date, end_date: lastSummary.end_date }
    const res = await authorizedGet(`/api/export/${button.dataset.export}/${queryOf(range)}`)
    if (!res.ok) {
      const body = await res.json().catch(() => ({}))
      $('error-text').textContent = body.message ?? `The download failed (HTTP ${res.status}). Try again.`
      $('error').hidden = false
      return
    }
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'export.csv'
    const href = URL.createObjectURL(await res.blob())
    const link = document.createElement('a')
    link.href = href
    link.download = name
    document.body.append(link)
    link.click()
    link.remove()
    setTimeout(() => URL.revokeObjectURL(href), 10_000)
  } catch (err) {
    if (!(err instanceof SignedOut)) {
      $('error-text').textContent = 'The download failed. Try again.'
      $('error').hidden = false
    }
  } finally {
    button.disabled = false
    button.textContent = label
  }
}

// --- live updates -------------------------------------------------------------

let refreshTimer = null
let lastRefresh = 0
let inFlight = null
let dirty = false

/** A change was heard: reload soon, once for a burst, never two at a time. */
function scheduleRefresh () {
  if (refreshTimer !== null) return
  const wait = Math.max(REFRESH_DELAY_MS, lastRefresh + REFRESH_GAP_MS - Date.now())
  refreshTimer = setTimeout(async () => {
    refreshTimer = null
    if ($('dashboard').hidden) return
    if (inFlight !== null) {
      dirty = true
      return
    }
    lastRefresh = Date.now()
    inFlight = load({ quiet: $('dashboard').dataset.state === 'ready' }).finally(() => {
      inFlight = null
      if (dirty) {
        dirty = false
        scheduleRefresh()
      }
    })
  }, wait)
}

function setLive (state, text) {
  $('live').dataset.state = state
  $('live-text').textContent = text
  const dot = $('live-dot')
  dot.classList.remove('bg-emerald-400', 'bg-amber-400', 'bg-slate-500', 'animate-pulse')
  dot.classList.add(state === 'live' ? 'bg-emerald-400' : state === 'off' ? 'bg-slate-500' : 'bg-amber-400')
  if (state === 'connecting') dot.classList.add('animate-pulse')
}

/** The live stream: fetch + a text/event-stream parser, reconnecting by itself (with a fresh token when it expired). */
const live = (() => {
  let controller = null
  let retryMs = 2000
  let failures = 0
  let timer = null
  let connectedBefore = false

  function handle (event, data) {
    if (event === 'ready') {
      failures = 0
      setLive('live', 'Live')
      // whatever happened while disconnected: catch up once
      if (connectedBefore) scheduleRefresh()
      connectedBefore = true
    } else if (event === 'changes') {
      const { changes = [], count = 0 } = JSON.parse(data)
      // a result that moved nothing changes no figure (only a timeline); more than were listed: assume figures moved
      if (count > changes.length || changes.some((c) => c.applied !== false)) scheduleRefresh()
      const ids = new Set(changes.map((c) => c.order_id))
      if ([...document.querySelectorAll('[data-order-id]')].some((el) => ids.has(el.dataset.orderId))) void lookup.rerun()
    } else if (event === 'resync') {
      scheduleRefresh()
    }
  }

  async function connect () {
    timer = null
    controller = new AbortController()
    const mine = controller
    setLive('connecting', failures === 0 ? 'Connecting…' : 'Reconnecting…')
    try {
      const res = await authorizedGet('/api/analytics/live/', { signal: mine.signal })
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`)
      const reader = res.body.getReader()
      const decoder = new TextDecoder()
      let buffer = ''
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        let cut
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          let event = 'message'
          const data = []
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim()
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
            else if (line.startsWith('retry:')) retryMs = Math.min(30_000, Math.max(500, Number(line.slice(6)) || retryMs))
          }
          if (data.length > 0) handle(event, data.join('\n'))
        }
      }
    } catch (err) {
      if (err instanceof SignedOut || mine.signal.aborted) return
      failures++
    }
    if (mine.signal.aborted || controller !== mine) return
    // ended (a restart, the token's expiry) or failed: again, backing off while it keeps failing
    setLive('connecting', 'Reconnecting…')
    timer = setTimeout(connect, Math.min(30_000, retryMs * 2 ** Math.min(failures, 4)))
  }

  return {
    start () {
      if (controller !== null) return
      failures = 0
      connectedBefore = false
      void connect()
    },
    stop () {
      controller?.abort()
      controller = null
      if (timer !== null) clearTimeout(timer)
      timer = null
      setLive('off', 'Offline')
    }
  }
})()

// --- order lookup -------------------------------------------------------------

const STATUS_BADGE = {
  pending: 'bg-amber-100 text-amber-900',
  success: 'bg-emerald-100 text-emerald-900',
  failed: 'bg-red-100 text-red-900'
}

function badge (status) {
  const span = document.createElement('span')
  span.className = `inline-block rounded-full px-2 py-0.5 text-xs font-semibold ${STATUS_BADGE[status] ?? 'bg-slate-100 text-slate-800'}`
  span.textContent = status
  return span
}

function field (list, label, value, { mono = false } = {}) {
  const dt = document.createElement('dt')
  dt.className = 'text-xs uppercase tracking-wide text-slate-500'
  dt.textContent = label
  const dd = document.createElement('dd')
  dd.className = mono ? 'break-all font-mono text-xs sm:text-sm' : 'break-words'
  dd.textContent = value
  list.append(dt, dd)
}

function orderCard (order) {
  const card = document.createElement('article')
  card.className = 'rounded-lg border border-slate-200 p-3'
  card.dataset.orderId = order.order_id
  const head = document.createElement('div')
  head.className = 'flex flex-wrap items-center justify-between gap-2'
  const title = document.createElement('h3')
  title.className = 'break-all font-mono text-sm font-semibold'
  title.textContent = order.order_id
  head.append(title, badge(order.status))
  const facts = document.createElement('dl')
  facts.className = 'mt-2 grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]'
  field(facts, 'Transaction', order.transaction_id, { mono: true })
  field(facts, 'Customer', order.user_email ?? '(the order has not reached analytics yet)')
  field(facts, 'Product', order.game === null ? '–' : `${order.product?.name ?? '?'} · ${order.game.name}`)
  field(facts, 'Amount', order.amount === null ? '–' : money(order.amount))
  const steps = document.createElement('ol')
  steps.className = 'mt-3 space-y-2 border-l-2 border-slate-200 pl-4'
  steps.setAttribute('aria-label', 'Timeline')
  for (const entry of order.timeline) {
    const li = document.createElement('li')
    li.className = 'text-sm'
    li.dataset.kind = entry.kind
    const when = document.createElement('time')
    when.dateTime = entry.at
    when.className = 'block font-mono text-xs text-slate-500'
    when.textContent = `${dateTime(entry.at)} ${timezone}`
    const what = document.createElement('span')
    if (entry.kind === 'created') {
      what.textContent = 'Order created (pending payment)'
    } else {
      what.append(`Payment ${entry.status}`, ' ')
      what.append(badge(entry.status))
      what.append(` via ${entry.provider ?? 'an unrecorded provider'}`)
      if (!entry.applied) what.append(' — ignored: the order already had a result')
    }
    li.append(when, what)
    steps.append(li)
  }
  if (order.timeline.length === 0) {
    const li = document.createElement('li')
    li.className = 'text-sm text-slate-500'
    li.textContent = 'No events recorded yet.'
    steps.append(li)
  }
  card.append(head, facts, steps)
  return card
}

const lookup = (() => {
  let last = null
  async function run (kind, value, { quiet = false } = {}) {
    last = { kind, value }
    if (!quiet) {
      $('lookup-status').textContent = 'Searching…'
      $('lookup-results').replaceChildren()
    }
    $('lookup-submit').disabled = true
    try {
      const res = await authorizedGet(`/api/analytics/lookup/?${new URLSearchParams({ [kind]: value })}`)
      const body = await res.json().catch(() => null)
      if (!res.ok || body === null) {
        $('lookup-results').replaceChildren()
        $('lookup-status').textContent = res.status === 400 ? `${body?.message ?? 'Invalid search.'}` : `The search failed (HTTP ${res.status}). Try again.`
        return
      }
      $('lookup-results').replaceChildren(...body.orders.map(orderCard))
      $('lookup-status').textContent = body.orders.length === 0
        ? `No order found for this ${kind === 'email' ? 'e-mail' : kind === 'order_id' ? 'order id' : 'transaction id'}.`
        : `${body.orders.length} order${body.orders.length === 1 ? '' : 's'}${body.more ? ' (the newest; there are more)' : ''}. Times in ${timezone}.`
    } catch (err) {
      if (!(err instanceof SignedOut)) $('lookup-status').textContent = 'The search failed: the server did not answer. Try again.'
    } finally {
      $('lookup-submit').disabled = false
    }
  }
  return {
    submit (event) {
      event.preventDefault()
      const value = $('lookup-query').value.trim()
      if (value === '') {
        $('lookup-status').textContent = 'Type an order id, a transaction id or an e-mail.'
        return
      }
      void run($('lookup-kind').value, value)
    },
    async rerun () {
      if (last !== null) await run(last.kind, last.value, { quiet: true })
    }
  }
})()

function start () {
  $('signin-form').addEventListener('submit', signIn)
  $('sign-out').addEventListener('click', signOut)
  $('filter').addEventListener('submit', applyFilter)
  $('retry').addEventListener('click', () => { void load() })
  $('lookup-form').addEventListener('submit', lookup.submit)
  // an e-mail is recognisable: pick its kind for the user
  $('lookup-query').addEventListener('input', () => { if ($('lookup-query').value.includes('@')) $('lookup-kind').value = 'email' })
  for (const button of document.querySelectorAll('[data-preset]')) button.addEventListener('click', applyPreset)
  for (const button of document.querySelectorAll('[data-export]')) button.addEventListener('click', download)
  // amounts in full or compact, charts' legends: follow the width
  phone.addEventListener('change', () => { if (lastSummary !== null) render(lastSummary) })
  const params = new URLSearchParams(location.search)
  const preset = params.get('preset')
  applied = preset !== null && PRESETS.includes(preset) ? { preset } : { start_date: params.get('start_date') ?? '', end_date: params.get('end_date') ?? '' }
  $('start-date').value = applied.start_date ?? ''
  $('end-date').value = applied.end_date ?? ''
  const token = sessionStorage.getItem(ACCESS_KEY)
  const claims = token === null ? null : claimsOf(token)
  if (claims === null || claims.staff !== true) {
    showSignIn()
    return
  }
  showDashboard(claims)
  void load()
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
else start()
