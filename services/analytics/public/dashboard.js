/* global document, history, location, Chart */
// The dashboard's page logic (a module: strict, nothing global). Staff sign in
// here through the same origin (the gateway's /api/token/); the access and
// refresh tokens live in sessionStorage (this tab only). Every figure comes from
// the staff-only /api/analytics/summary/; nothing is shown without a staff token.

const ACCESS_KEY = 'topup.analytics.access'
const REFRESH_KEY = 'topup.analytics.refresh'

const $ = (id) => document.getElementById(id)
const charts = { daily: null, games: null }
let currency = 'INR'
let refreshing = null

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

/** GET with the access token; on 401 one refresh and one retry, then back to the sign-in form. */
async function authorizedGet (url) {
  const attempt = () => fetch(url, { headers: { authorization: `Bearer ${sessionStorage.getItem(ACCESS_KEY) ?? ''}` } })
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
  destroyCharts()
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

// --- figures ----------------------------------------------------------------

function rangeQuery () {
  const params = new URLSearchParams()
  if ($('start-date').value !== '') params.set('start_date', $('start-date').value)
  if ($('end-date').value !== '') params.set('end_date', $('end-date').value)
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

function money (value) {
  try {
    return new Intl.NumberFormat('en-IN', { style: 'currency', currency, minimumFractionDigits: 2 }).format(Number(value))
  } catch {
    return `${value} ${currency}`
  }
}

const integer = new Intl.NumberFormat('en-IN')

function cell (text, { right = false, value } = {}) {
  const td = document.createElement('td')
  td.className = right ? 'whitespace-nowrap py-2 pl-3 text-right' : 'py-2 pr-3'
  td.textContent = text
  if (value !== undefined) td.dataset.value = String(value)
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

function destroyCharts () {
  for (const key of Object.keys(charts)) {
    charts[key]?.destroy()
    charts[key] = null
  }
}

function drawCharts (summary) {
  destroyCharts()
  const axisMoney = { ticks: { callback: (v) => integer.format(v) }, beginAtZero: true }
  charts.daily = new Chart($('daily-chart'), {
    type: 'line',
    data: {
      labels: summary.daily_revenue.map((d) => d.date),
      datasets: [{ label: `Revenue (${currency})`, data: summary.daily_revenue.map((d) => Number(d.revenue)), borderColor: '#4f46e5', backgroundColor: 'rgba(79, 70, 229, 0.12)', fill: true, tension: 0.3, cubicInterpolationMode: 'monotone', pointRadius: 2 }]
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: {
        y: axisMoney,
        // MM-DD, horizontal, as many as fit (the table has every day)
        x: { ticks: { maxRotation: 0, autoSkipPadding: 12, callback (value) { return this.getLabelForValue(value).slice(5) } } }
      }
    }
  })
  charts.games = new Chart($('games-chart'), {
    type: 'bar',
    data: {
      labels: summary.revenue_by_game.map((g) => g.game_name),
      datasets: [{ label: `Revenue (${currency})`, data: summary.revenue_by_game.map((g) => Number(g.revenue)), backgroundColor: '#0ea5e9', borderRadius: 4 }]
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales: { y: axisMoney } }
  })
}

function render (summary) {
  currency = summary.currency
  $('start-date').value = summary.start_date
  $('end-date').value = summary.end_date
  const t = summary.totals
  $('total-revenue').textContent = money(t.revenue)
  $('total-revenue').dataset.value = t.revenue
  $('total-orders').textContent = integer.format(t.orders)
  $('total-breakdown').textContent = `${integer.format(t.successful_orders)} successful · ${integer.format(t.failed_orders)} failed · ${integer.format(t.pending_orders)} pending`
  $('success-rate').textContent = t.success_rate === null ? '–' : `${t.success_rate}%`
  $('failed-this-month').textContent = integer.format(summary.failed_payments.this_month.count)
  $('failed-month-label').textContent = summary.failed_payments.this_month.month
  fillTable('daily-body', [...summary.daily_revenue].reverse(), (d) => [
    cell(d.date), cell(integer.format(d.orders), { right: true, value: d.orders }),
    cell(integer.format(d.successful_orders), { right: true, value: d.successful_orders }), cell(money(d.revenue), { right: true, value: d.revenue })
  ], 'No days in range.')
  fillTable('products-body', summary.top_products, (p) => [
    cell(p.product_name), cell(p.game_name), cell(integer.format(p.successful_orders), { right: true, value: p.successful_orders }), cell(money(p.revenue), { right: true, value: p.revenue })
  ], 'No successful orders in this range.')
  fillTable('users-body', summary.top_users, (u) => [cell(u.user_email), cell(integer.format(u.orders), { right: true, value: u.orders })], 'No orders in this range.')
  fillTable('failures-body', summary.failed_payments.by_month, (m) => [cell(m.month), cell(integer.format(m.count), { right: true, value: m.count })], 'No months in range.')
  drawCharts(summary)
}

async function load () {
  $('error').hidden = true
  $('status').textContent = 'Loading…'
  try {
    const res = await authorizedGet(`/api/analytics/summary/${rangeQuery()}`)
    const body = await res.json()
    if (!res.ok) {
      $('status').textContent = ''
      $('error').textContent = body.message ?? `The figures could not be loaded (HTTP ${res.status}).`
      $('error').hidden = false
      return
    }
    render(body)
    $('status').textContent = `${body.start_date} to ${body.end_date} (UTC), updated ${new Date().toLocaleTimeString()}`
    document.body.dataset.loaded = `${body.start_date}..${body.end_date}`
  } catch (err) {
    if (err instanceof SignedOut) return
    $('status').textContent = ''
    $('error').textContent = 'The figures could not be loaded. Check your connection and try again.'
    $('error').hidden = false
  }
}

function applyFilter (event) {
  event.preventDefault()
  const url = new URL(location.href)
  url.search = rangeQuery()
  history.replaceState(null, '', url)
  void load()
}

async function download (event) {
  const button = event.currentTarget
  const label = button.textContent
  button.disabled = true
  button.textContent = 'Preparing…'
  try {
    const res = await authorizedGet(`/api/export/${button.dataset.export}/${rangeQuery()}`)
    if (!res.ok) {
      const body = await res.json().catch(() => ({}))
      $('error').textContent = body.message ?? `The download failed (HTTP ${res.status}).`
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
      $('error').textContent = 'The download failed. Try again.'
      $('error').hidden = false
    }
  } finally {
    button.disabled = false
    button.textContent = label
  }
}

function start () {
  $('signin-form').addEventListener('submit', signIn)
  $('sign-out').addEventListener('click', signOut)
  $('filter').addEventListener('submit', applyFilter)
  for (const button of document.querySelectorAll('[data-export]')) button.addEventListener('click', download)
  const params = new URLSearchParams(location.search)
  $('start-date').value = params.get('start_date') ?? ''
  $('end-date').value = params.get('end_date') ?? ''
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
