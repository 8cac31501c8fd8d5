import { runService } from '@topup/service-kit'
import { buildApp } from './app.js'
import { loadAnalyticsConfig } from './config.js'

await runService('analytics', () => loadAnalyticsConfig(), buildApp)
