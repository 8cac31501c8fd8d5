export { serviceEnv, type ServiceConfig, type ServiceDefaults } from './env.js'
export { infrastructure, type InfrastructureOptions } from './plugin.js'
