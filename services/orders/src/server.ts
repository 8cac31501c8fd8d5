import { runService } from '@topup/service-kit'
import { buildApp } from './app.js'
import { loadOrdersConfig } from './config.js'

await runService('orders', () => loadOrdersConfig(), buildApp)
