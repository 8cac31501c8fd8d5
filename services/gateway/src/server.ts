import { runService } from '@topup/service-kit'
import { buildApp } from './app.js'
import { loadGatewayConfig } from './config.js'

await runService('gateway', () => loadGatewayConfig(), async (config) => buildApp(config))
