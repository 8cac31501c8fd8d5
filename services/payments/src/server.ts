import { runService } from '@topup/service-kit'
import { buildApp } from './app.js'
import { loadPaymentsConfig } from './config.js'

await runService('payments', loadPaymentsConfig, buildApp)
