/**
 * deploy/kubernetes: the kustomize base and the production overlay, checked
 * offline. No cluster runs here (nor in CI): each kustomization is rendered
 * with `kubectl kustomize` (kustomize needs no cluster), every object is
 * validated against the Kubernetes API schemas of the `kubernetes-models`
 * package, and its fields are checked against the same package's type
 * declarations (the schemas accept unknown fields; the API server refuses
 * them), then the platform's own rules are held:
 *  - each process of scripts/services.ts is one Deployment running the
 *    platform image's server of that service on the port that list gives it,
 *    with readiness where that list says the process is ready (/ready for the
 *    services, the gateway's admin /health: gateway.yaml says why), liveness on
 *    /health, resource requests and a memory limit, the restricted security
 *    context, and a grace period above the services' own shutdown delay;
 *  - PodDisruptionBudgets and autoscaling/v2 CPU HorizontalPodAutoscalers for
 *    orders, payments and analytics (and any other), each aimed at its
 *    Deployment; every Service selects exactly one Deployment, on a port it has;
 *    the gateway reaches each service through a headless Service;
 *  - no secret in the manifests: no Secret object with data, no secret-looking
 *    variable given a literal value or put in a ConfigMap, and every
 *    secretKeyRef names the Secret and a key that deploy/kubernetes/README.md
 *    documents (and its `kubectl create secret` command creates).
 * kubectl missing is a failure, never a skip: CI machines have it.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import ts from 'typescript'
import { parse, parseAllDocuments } from 'yaml'
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import { Ingress, type IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress'
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Namespace, type INamespace } from 'kubernetes-models/v1/Namespace'
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret'
import { Service, type IService } from 'kubernetes-models/v1/Service'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IProbe } from 'kubernetes-models/v1/Probe'
import { ROOT } from '../../scripts/common/paths.js'
import { BACKENDS, GATEWAY, PROCESSES, type ServiceSpec } from '../../scripts/services.js'

const KUBERNETES = join(ROOT, 'deploy', 'kubernetes')
const BASE = join(KUBERNETES, 'base')
const PRODUCTION = join(KUBERNETES, 'overlays', 'production')
/** The one Secret the manifests reference (deploy/kubernetes/README.md, "The Secret"). */
const PLATFORM_SECRET = 'topup-platform'
/** The services that must have a PodDisruptionBudget and an autoscaler (the event services). */
const MUST_SCALE = ['orders', 'payments', 'analytics']
/** Variables whose value is a secret (or holds one: a URL with its password). */
const SECRET_NAME = /PASSWORD|SECRET|PRIVATE_KEY|TOKEN|DATABASE_URL|AMQP_URL|REDIS_URL/

// --- rendering ---------------------------------------------------------------------------

interface KubeObject {
  apiVersion: string
  kind: string
  metadata?: { name?: string, namespace?: string, labels?: Record<string, string> }
}

/** `kubectl kustomize <dir>`: the rendered YAML. Throws (the test fails) when kubectl is missing. */
function kustomize (dir: string): string {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 })
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('kubectl is not installed (or not on PATH): the Kubernetes manifests cannot be rendered. Install kubectl (kustomize is built in); no cluster is needed.')
  }
  if (result.error !== undefined) throw result.error
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} exited with ${String(result.status)}: ${result.stderr}`)
  return result.stdout
}

function parseObjects (text: string, what: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${what}: ${doc.errors.map((e) => e.message).join('; ')}`)
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) return []
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what}: a document that is not an object`)
    return [value as KubeObject]
  })
}

function render (dir: string): KubeObject[] {
  return parseObjects(kustomize(dir), `kubectl kustomize ${dir}`)
}

const label = (o: KubeObject): string => `${o.kind}/${o.metadata?.name ?? '?'}`

// --- schema validation -------------------------------------------------------------------

/** A kubernetes-models class: its apiVersion and kind, and validate() on an instance. */
interface ModelClass {
  readonly apiVersion: string
  readonly kind: string
  new (data: never): { validate: () => void }
}

/** Every kind the manifests may contain; anything else is refused (add its class here). */
const MODEL_CLASSES: ModelClass[] = [Namespace, ConfigMap, Secret, Service, Deployment, PodDisruptionBudget, HorizontalPodAutoscaler, Ingress]
const MODELS = new Map(MODEL_CLASSES.map((model) => [`${model.apiVersion} ${model.kind}`, model]))

/** What the Kubernetes schema finds wrong with an object ([] when valid); an unknown apiVersion/kind is wrong. */
function schemaProblems (object: unknown): string[] {
  if (object === null || typeof object !== 'object') return ['not an object']
  const { apiVersion, kind } = object as Partial<KubeObject>
  const Model = MODELS.get(`${String(apiVersion)} ${String(kind)}`)
  if (Model === undefined) return [`${String(apiVersion)} ${String(kind)}: not a kind this test knows a schema for`]
  try {
    new Model(object as never).validate()
    return []
  } catch (err) {
    return [(err as Error).message]
  }
}

/**
 * The schemas allow fields they do not define, while the API server (kubectl's
 * strict field validation) refuses them: a misspelt `readinesProbe` would pass
 * validate() and fail at apply. The package's type declarations do list every
 * field, so each object is walked along its kind's interface and any field
 * the interface does not have is reported. Index signatures (labels,
 * annotations, ConfigMap data) accept any key.
 */
class FieldChecker {
  private readonly program: ts.Program
  private readonly checker: ts.TypeChecker
  private readonly roots = new Map<string, ts.Type>()

  constructor () {
    const files = MODEL_CLASSES.map((model) => declarationFile(model))
    this.program = ts.createProgram(files, { strict: true, noEmit: true, skipLibCheck: true, types: [] })
    this.checker = this.program.getTypeChecker()
    for (const model of MODEL_CLASSES) {
      const source = this.program.getSourceFile(declarationFile(model))
      const moduleSymbol = source === undefined ? undefined : this.checker.getSymbolAtLocation(source)
      const symbol = moduleSymbol === undefined ? undefined : this.checker.getExportsOfModule(moduleSymbol).find((s) => s.name === `I${model.kind}`)
      if (symbol === undefined) throw new Error(`no interface I${model.kind} in ${declarationFile(model)}`)
      this.roots.set(`${model.apiVersion} ${model.kind}`, this.checker.getDeclaredTypeOfSymbol(symbol))
    }
  }

  /** The paths of the fields of `object` that its kind does not have. */
  unknownFields (object: KubeObject): string[] {
    const root = this.roots.get(`${object.apiVersion} ${object.kind}`)
    if (root === undefined) return [`${object.apiVersion} ${object.kind}: no type declaration`]
    const out: string[] = []
    this.walk(object, root, '', out)
    return out
  }

  private walk (value: unknown, declared: ts.Type, path: string, out: string[]): void {
    if (value === null || typeof value !== 'object') return
    let type = this.checker.getNonNullableType(declared)
    if (type.isUnion()) {
      // IntOrString and the like: only a union with one object member says which fields are allowed
      const objects = type.types.filter((member) => (member.flags & ts.TypeFlags.Object) !== 0)
      if (objects.length !== 1 || objects[0] === undefined) return
      type = objects[0]
    }
    if ((type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) return
    if (Array.isArray(value)) {
      const element = this.checker.getIndexTypeOfType(type, ts.IndexKind.Number)
      if (element !== undefined) value.forEach((item, i) => { this.walk(item, element, `${path}[${i}]`, out) })
      return
    }
    const index = this.checker.getIndexTypeOfType(type, ts.IndexKind.String)
    for (const [key, field] of Object.entries(value)) {
      const property = type.getProperty(key)
      if (property === undefined) {
        if (index === undefined) out.push(`${path}.${key}`)
        else this.walk(field, index, `${path}.${key}`, out)
        continue
      }
      const location = property.valueDeclaration ?? property.declarations?.[0]
      if (location === undefined) continue
      this.walk(field, this.checker.getTypeOfSymbolAtLocation(property, location), `${path}.${key}`, out)
    }
  }
}

/** Where a model's interface is declared: kubernetes-models/<apiVersion>/<kind>.d.ts. */
function declarationFile (model: ModelClass): string {
  return join(ROOT, 'node_modules', 'kubernetes-models', ...model.apiVersion.split('/'), `${model.kind}.d.ts`)
}

// --- reading the rendered objects -----------------------------------------------------

function must<T> (value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing: ${what}`)
  return value
}

function ofKind<T> (objects: KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[]
}

/** Every key of `selector` has that value in `labels` (and the selector is not empty). */
function selects (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {})
  return entries.length > 0 && entries.every(([key, value]) => labels?.[key] === value)
}

const podLabels = (d: IDeployment): Record<string, string> | undefined => d.spec?.template.metadata?.labels

/** The one container of a Deployment, named after it. */
function containerOf (d: IDeployment): IContainer {
  const containers = must(d.spec?.template.spec?.containers, `${d.metadata?.name ?? '?'}: containers`)
  const container = containers.find((c) => c.name === d.metadata?.name)
  return must(container, `${d.metadata?.name ?? '?'}: a container named after the Deployment`)
}

/** A port given by name or number, as a number of the container. */
function portNumber (container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port
  return container.ports?.find((p) => p.name === port)?.containerPort
}

/** What a variable of a container is: a literal, a ConfigMap entry or a Secret key. */
type EnvSource =
  | { from: 'value', value: string }
  | { from: 'configMap', name: string, value: string | undefined }
  | { from: 'secret', name: string, key: string, optional: boolean }

/** The container's environment as Kubernetes builds it: envFrom in order, then env (which wins). */
function environment (container: IContainer, configMaps: Map<string, IConfigMap>): Map<string, EnvSource> {
  const out = new Map<string, EnvSource>()
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef !== undefined) {
      const map = configMaps.get(source.configMapRef.name ?? '')
      for (const [name, value] of Object.entries(map?.data ?? {})) out.set(`${source.prefix ?? ''}${name}`, { from: 'configMap', name: source.configMapRef.name ?? '', value })
    }
  }
  for (const variable of container.env ?? []) {
    const secret = variable.valueFrom?.secretKeyRef
    const entry = variable.valueFrom?.configMapKeyRef
    if (secret !== undefined) out.set(variable.name, { from: 'secret', name: secret.name ?? '', key: secret.key, optional: secret.optional === true })
    else if (entry !== undefined) out.set(variable.name, { from: 'configMap', name: entry.name ?? '', value: configMaps.get(entry.name ?? '')?.data?.[entry.key] })
    else out.set(variable.name, { from: 'value', value: variable.value ?? '' })
  }
  return out
}

function valueOf (env: Map<string, EnvSource>, name: string): string | undefined {
  const source = env.get(name)
  return source === undefined || source.from === 'secret' ? undefined : source.value
}

// --- what the repository says elsewhere -------------------------------------------------

/** The services' shutdown delay: close-with-grace's `delay` in libs/service-kit's startServer. */
function shutdownDelaySeconds (): number {
  const source = readFileSync(join(ROOT, 'libs', 'service-kit', 'src', 'server.ts'), 'utf8')
  const delay = source.match(/closeWithGrace\(\{\s*delay:\s*([\d_]+)/)?.[1]
  return Number(must(delay, 'closeWithGrace({ delay }) in libs/service-kit/src/server.ts').replaceAll('_', '')) / 1000
}

interface SecretDocs {
  /** The Secret's name in the `kubectl create secret generic` command. */
  name: string
  /** The keys that command creates. */
  created: Set<string>
  /** Every key of the README's table of keys (the optional ones included). */
  listed: Set<string>
}

/** deploy/kubernetes/README.md's section "The Secret": its table of keys and its create command. */
function secretDocs (): SecretDocs {
  const readme = readFileSync(join(KUBERNETES, 'README.md'), 'utf8')
  const section = must(readme.split(/^### The Secret$/m)[1]?.split(/^#{2,3} /m)[0], 'README.md: a section "### The Secret"')
  const listed = new Set<string>()
  for (const row of section.split('\n').filter((line) => line.startsWith('| `'))) {
    for (const key of (row.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)) listed.add(must(key[1], 'key'))
  }
  const command = must(section.match(/create secret generic (\S+) *\\\n((?:.*\\\n)*.*)/), 'README.md: a `kubectl create secret generic` command')
  const created = new Set([...must(command[2], 'its arguments').matchAll(/--from-(?:literal|file)=([A-Z][A-Z0-9_]*)=/g)].map((m) => must(m[1], 'key')))
  return { name: must(command[1], 'the Secret name'), created, listed }
}

interface ImageEntry { name: string, newName?: string, newTag?: string, digest?: string }

/** The image a kustomization's `images:` entry for the platform image makes. */
function platformImage (kustomizationDir: string): { image: string, entry: ImageEntry } {
  const kustomization = parse(readFileSync(join(kustomizationDir, 'kustomization.yaml'), 'utf8')) as { images?: ImageEntry[] }
  const entry = must(kustomization.images?.find((i) => i.name === 'topup-platform'), `${kustomizationDir}: an images entry for topup-platform`)
  const name = entry.newName ?? entry.name
  return { image: entry.digest !== undefined ? `${name}@${entry.digest}` : `${name}:${must(entry.newTag, 'newTag')}`, entry }
}

// --- the checks ---------------------------------------------------------------------------

const fields = new FieldChecker()

t.test('the validators refuse what a cluster would refuse', async (t) => {
  const valid: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image: 'i', readinessProbe: { httpGet: { path: '/ready', port: 1 } } }] } } }
  }
  const spec = must(valid.spec, 'spec')
  t.same(schemaProblems(valid), [], 'a minimal Deployment is valid')
  t.same(fields.unknownFields(valid), [], 'and has no unknown field')
  t.match(schemaProblems({ ...valid, spec: { ...spec, replicas: 'three' } }), [/replicas must be integer/], 'replicas not a number: refused')
  t.match(schemaProblems({ ...valid, spec: { template: spec.template } }), [/required property 'selector'|required property selector/], 'no selector: refused')
  t.match(schemaProblems({ ...valid, spec: { ...spec, template: { spec: { containers: [{ name: 'x', image: 'i', readinessProbe: { httpGet: { path: '/ready' } } }] } } } }), [/httpGet must have required property/], 'a probe without a port: refused')
  t.match(schemaProblems({ apiVersion: 'autoscaling/v2beta2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' } }), [/not a kind this test knows/], 'an apiVersion the cluster no longer serves: refused')
  t.match(schemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget' }), [/not a kind this test knows/], 'an unknown kind: refused')
  const misspelt = { ...valid, spec: { ...spec, template: { ...spec.template, spec: { containers: [{ name: 'x', image: 'i', readinesProbe: { httpGet: { path: '/ready', port: 1 } } }] } } } }
  t.same(schemaProblems(misspelt), [], 'the schema alone lets a misspelt field through')
  t.same(fields.unknownFields(misspelt), ['.spec.template.spec.containers[0].readinesProbe'], 'the field check names it')
  t.same(fields.unknownFields({ ...valid, metadata: { name: 'x', labels: { anything: 'goes' } } }), [], 'label keys are free')
})

for (const variant of [
  { name: 'base', dir: BASE, namespace: undefined, images: [BASE] },
  { name: 'production', dir: PRODUCTION, namespace: 'topup', images: [PRODUCTION] }
]) {
  t.test(`${variant.name}: kubectl kustomize renders valid objects that keep the platform's rules`, async (t) => {
    const objects = render(variant.dir)
    t.ok(objects.length > 0, 'it renders')

    t.test('every object passes the Kubernetes schema and has only known fields', async (t) => {
      for (const object of objects) {
        t.same(schemaProblems(object), [], `${label(object)}: schema`)
        t.same(fields.unknownFields(object), [], `${label(object)}: fields`)
      }
    })

    const deployments = ofKind<IDeployment>(objects, 'Deployment')
    const services = ofKind<IService>(objects, 'Service')
    const configMaps = new Map(ofKind<IConfigMap>(objects, 'ConfigMap').map((c) => [c.metadata?.name ?? '', c]))
    const pdbs = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget')
    const hpas = ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler')
    const deployment = (name: string): IDeployment => must(deployments.find((d) => d.metadata?.name === name), `Deployment ${name}`)
    const { image } = platformImage(variant.images[0] ?? variant.dir)

    t.test('one Deployment per process of the platform, running its server with the platform image', async (t) => {
      t.same(deployments.map((d) => d.metadata?.name).sort(), PROCESSES.map((p) => p.name).sort(), 'the Deployments are the processes of scripts/services.ts')
      for (const spec of PROCESSES) {
        const d = deployment(spec.name)
        const container = containerOf(d)
        t.equal(d.spec?.template.spec?.containers.length, 1, `${spec.name}: one container`)
        t.equal(container.image, image, `${spec.name}: the platform image`)
        t.equal(container.command, undefined, `${spec.name}: no command (the image's tini stays PID 1)`)
        t.same(container.args, ['node', `services/${spec.name}/dist/src/server.js`], `${spec.name}: runs its own server`)
        t.ok(existsSync(join(ROOT, 'services', spec.name, 'src', 'server.ts')), `${spec.name}: that server exists (its source)`)
        t.ok(selects(d.spec?.selector.matchLabels, podLabels(d)), `${spec.name}: the selector matches its pod labels`)
      }
      if (variant.name === 'production') t.not(platformImage(PRODUCTION).entry.newTag, 'latest', 'production: a fixed tag, not latest')
    })

    t.test('ports and addresses: the ones scripts/services.ts gives each process', async (t) => {
      for (const spec of PROCESSES) {
        const container = containerOf(deployment(spec.name))
        const env = environment(container, configMaps)
        t.equal(portNumber(container, 'http'), spec.port, `${spec.name}: containerPort http`)
        t.equal(valueOf(env, 'PORT'), String(spec.port), `${spec.name}: PORT`)
        t.equal(valueOf(env, 'HOST'), '0.0.0.0', `${spec.name}: listens on the pod address`)
        t.equal(valueOf(env, 'NODE_ENV'), 'production', `${spec.name}: NODE_ENV production (development secrets refused)`)
        for (const source of container.envFrom ?? []) {
          if (source.configMapRef !== undefined) t.ok(configMaps.has(source.configMapRef.name ?? ''), `${spec.name}: envFrom ConfigMap ${source.configMapRef.name ?? '?'} exists`)
          t.equal(source.secretRef, undefined, `${spec.name}: no envFrom secretRef (each secret key by name)`)
        }
      }
      const gateway = containerOf(deployment(GATEWAY.name))
      const env = environment(gateway, configMaps)
      t.equal(portNumber(gateway, 'admin'), GATEWAY.adminPort, 'gateway: containerPort admin')
      t.equal(valueOf(env, 'ADMIN_PORT'), String(GATEWAY.adminPort), 'gateway: ADMIN_PORT')
      t.equal(valueOf(env, 'ADMIN_HOST'), '0.0.0.0', 'gateway: the admin listener on the pod address (the probes reach it)')
    })

    t.test('probes: readiness where scripts/services.ts says the process is ready, liveness on /health', async (t) => {
      const probeAt = (spec: ServiceSpec, container: IContainer, probe: IProbe | undefined, what: string): { path?: string, port?: number } => {
        const get = must(must(probe, `${spec.name}: ${what}`).httpGet, `${spec.name}: ${what} httpGet`)
        return { path: get.path, port: portNumber(container, get.port) }
      }
      for (const spec of PROCESSES) {
        const container = containerOf(deployment(spec.name))
        const port = spec.readiness.listener === 'port' ? spec.port : spec.adminPort
        t.same(probeAt(spec, container, container.readinessProbe, 'readinessProbe'), { path: spec.readiness.path, port }, `${spec.name}: readiness`)
        t.same(probeAt(spec, container, container.livenessProbe, 'livenessProbe'), { path: '/health', port }, `${spec.name}: liveness`)
        t.same(probeAt(spec, container, container.startupProbe, 'startupProbe'), { path: '/health', port }, `${spec.name}: startup`)
      }
      for (const spec of BACKENDS) t.equal(containerOf(deployment(spec.name)).readinessProbe?.httpGet?.path, '/ready', `${spec.name}: ready means its database (and broker) answer`)
    })

    t.test('resources, security context and shutdown', async (t) => {
      const delay = shutdownDelaySeconds()
      for (const spec of PROCESSES) {
        const d = deployment(spec.name)
        const pod = must(d.spec?.template.spec, `${spec.name}: pod spec`)
        const container = containerOf(d)
        t.ok(container.resources?.requests?.cpu !== undefined && container.resources.requests.memory !== undefined, `${spec.name}: CPU and memory requests`)
        t.ok(container.resources?.limits?.memory !== undefined, `${spec.name}: a memory limit`)
        t.equal(pod.securityContext?.runAsNonRoot, true, `${spec.name}: runAsNonRoot`)
        t.ok((pod.securityContext?.runAsUser ?? 0) > 0, `${spec.name}: a numeric non-root user (the image's is a name)`)
        t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${spec.name}: seccomp RuntimeDefault`)
        t.equal(pod.automountServiceAccountToken, false, `${spec.name}: no service account token`)
        t.equal(container.securityContext?.allowPrivilegeEscalation, false, `${spec.name}: no privilege escalation`)
        t.equal(container.securityContext?.readOnlyRootFilesystem, true, `${spec.name}: read-only root filesystem`)
        t.ok(container.securityContext?.capabilities?.drop?.includes('ALL'), `${spec.name}: every capability dropped`)
        t.equal(container.securityContext?.capabilities?.add, undefined, `${spec.name}: none added`)
        t.not(container.securityContext?.privileged, true, `${spec.name}: not privileged`)
        const preStop = container.lifecycle?.preStop?.exec?.command
        const sleep = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0
        t.ok((pod.terminationGracePeriodSeconds ?? 30) > delay + sleep, `${spec.name}: grace ${String(pod.terminationGracePeriodSeconds)} s > ${sleep} s preStop + ${delay} s shutdown`)
      }
    })

    t.test('Services select exactly one Deployment, on ports it has; the gateway reaches each service through a headless one', async (t) => {
      for (const service of services) {
        const name = service.metadata?.name ?? '?'
        const selected = deployments.filter((d) => selects(service.spec?.selector, podLabels(d)))
        t.equal(selected.length, 1, `Service ${name}: selects one Deployment's pods`)
        const target = selected[0]
        if (target === undefined) continue
        for (const port of service.spec?.ports ?? []) {
          t.not(portNumber(containerOf(target), port.targetPort ?? port.port), undefined, `Service ${name}: port ${port.name ?? port.port} → a port of ${target.metadata?.name ?? '?'}`)
        }
      }
      for (const d of deployments) t.ok(services.some((s) => selects(s.spec?.selector, podLabels(d))), `${d.metadata?.name ?? '?'}: some Service selects it`)

      const gatewayService = must(services.find((s) => s.metadata?.name === GATEWAY.name), 'Service gateway')
      const gatewayContainer = containerOf(deployment(GATEWAY.name))
      t.same(gatewayService.spec?.ports?.map((p) => portNumber(gatewayContainer, p.targetPort ?? p.port)), [GATEWAY.port], 'Service gateway: the public port only (not the admin listener)')

      const serviceAt = (url: string | undefined): { service: IService | undefined, port: number } => {
        const parsed = new URL(must(url, 'an upstream URL'))
        return { service: services.find((s) => s.metadata?.name === parsed.hostname), port: Number(parsed.port) }
      }
      const gatewayEnv = environment(gatewayContainer, configMaps)
      for (const spec of BACKENDS) {
        const { service, port } = serviceAt(valueOf(gatewayEnv, `${spec.name.toUpperCase()}_URL`))
        t.equal(service?.spec?.clusterIP, 'None', `gateway → ${spec.name}: a headless Service (the gateway resolves every pod)`)
        t.ok(selects(service?.spec?.selector, podLabels(deployment(spec.name))), `gateway → ${spec.name}: it selects the ${spec.name} pods`)
        t.equal(port, spec.port, `gateway → ${spec.name}: on its port`)
        t.equal(service?.spec?.publishNotReadyAddresses ?? false, false, `gateway → ${spec.name}: only ready pods`)
      }
      for (const spec of BACKENDS.filter((s) => s.name !== 'auth')) {
        const { service, port } = serviceAt(valueOf(environment(containerOf(deployment(spec.name)), configMaps), 'AUTH_URL'))
        t.ok(service !== undefined && selects(service.spec?.selector, podLabels(deployment('auth'))) && port === 3001, `${spec.name}: AUTH_URL (JWKS) is a Service of the auth pods`)
      }
    })

    t.test('PodDisruptionBudgets and HorizontalPodAutoscalers aimed at their Deployments', async (t) => {
      for (const name of MUST_SCALE) {
        t.ok(pdbs.some((p) => p.metadata?.name === name), `${name}: a PodDisruptionBudget`)
        t.ok(hpas.some((h) => h.metadata?.name === name), `${name}: a HorizontalPodAutoscaler`)
      }
      for (const pdb of pdbs) {
        const selected = deployments.filter((d) => selects(pdb.spec?.selector?.matchLabels, podLabels(d)))
        t.same(selected.map((d) => d.metadata?.name), [pdb.metadata?.name], `PodDisruptionBudget ${pdb.metadata?.name ?? '?'}: selects the pods of its Deployment only`)
        t.ok(pdb.spec?.maxUnavailable !== undefined && pdb.spec.minAvailable === undefined, `PodDisruptionBudget ${pdb.metadata?.name ?? '?'}: maxUnavailable (a single replica can still be drained)`)
      }
      for (const hpa of hpas) {
        const name = hpa.metadata?.name ?? '?'
        const target = hpa.spec?.scaleTargetRef
        t.same({ apiVersion: target?.apiVersion, kind: target?.kind, name: target?.name }, { apiVersion: 'apps/v1', kind: 'Deployment', name }, `HorizontalPodAutoscaler ${name}: scales its Deployment`)
        const d = deployments.find((x) => x.metadata?.name === target?.name)
        t.ok(d !== undefined, `HorizontalPodAutoscaler ${name}: that Deployment exists`)
        t.equal(d?.spec?.replicas, undefined, `${name}: no replicas in the Deployment (the autoscaler owns the count)`)
        t.ok(hpa.spec?.metrics?.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target.type === 'Utilization'), `HorizontalPodAutoscaler ${name}: on CPU utilisation`)
        t.ok((hpa.spec?.minReplicas ?? 1) >= 2, `HorizontalPodAutoscaler ${name}: at least 2 pods (more than one machine)`)
        t.ok((hpa.spec?.maxReplicas ?? 0) >= (hpa.spec?.minReplicas ?? 1), `HorizontalPodAutoscaler ${name}: maxReplicas ≥ minReplicas`)
      }
    })

    t.test('no secret in the manifests; every secret reference is to the documented Secret and keys', async (t) => {
      for (const secret of ofKind<ISecret>(objects, 'Secret')) {
        t.ok(secret.data === undefined && secret.stringData === undefined, `Secret ${secret.metadata?.name ?? '?'}: carries no data`)
      }
      for (const [name, map] of configMaps) {
        t.same(Object.keys(map.data ?? {}).filter((key) => SECRET_NAME.test(key)), [], `ConfigMap ${name}: no secret-looking key`)
      }
      const docs = secretDocs()
      t.equal(docs.name, PLATFORM_SECRET, 'README: the create command makes the Secret the manifests reference')
      const used = new Set<string>()
      for (const d of deployments) {
        for (const [variable, source] of environment(containerOf(d), configMaps)) {
          const where = `${d.metadata?.name ?? '?'}: ${variable}`
          if (source.from !== 'secret') {
            t.notOk(SECRET_NAME.test(variable), `${where}: a secret-looking variable not from a Secret`)
            continue
          }
          used.add(source.key)
          t.equal(source.name, PLATFORM_SECRET, `${where}: from Secret ${PLATFORM_SECRET}`)
          t.ok(docs.listed.has(source.key), `${where}: key ${source.key} is in the README's table`)
          if (!source.optional) t.ok(docs.created.has(source.key), `${where}: required key ${source.key} is in the README's create command`)
        }
      }
      t.same([...docs.listed].filter((key) => !used.has(key)), [], 'every documented key is read by some Deployment')
      t.ok(used.has('AUTH_PRIVATE_KEY') && used.has('PAYMENT_WEBHOOK_SECRET'), 'the production secrets come from the Secret')
    })

    t.test('namespace and entrance', async (t) => {
      const namespaced = objects.filter((o) => o.kind !== 'Namespace')
      t.same(namespaced.filter((o) => o.metadata?.namespace !== variant.namespace).map(label), [], variant.namespace === undefined ? 'base: no namespace (the overlay gives it)' : `every object in ${variant.namespace}`)
      if (variant.namespace === undefined) return
      const namespace = ofKind<INamespace>(objects, 'Namespace').find((n) => n.metadata?.name === variant.namespace)
      t.equal(namespace?.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', 'the Namespace enforces the restricted Pod Security Standard')
      const ingresses = ofKind<IIngress>(objects, 'Ingress')
      t.ok(ingresses.length > 0, 'an Ingress')
      for (const ingress of ingresses) {
        for (const path of ingress.spec?.rules?.flatMap((r) => r.http?.paths ?? []) ?? []) {
          const backend = must(path.backend.service, 'an Ingress backend Service')
          const service = services.find((s) => s.metadata?.name === backend.name)
          t.ok(service?.spec?.ports?.some((p) => p.name === backend.port?.name || p.port === backend.port?.number), `Ingress ${ingress.metadata?.name ?? '?'} ${path.path ?? '/'} → Service ${backend.name}, a port it has`)
          t.equal(backend.name, GATEWAY.name, 'to the gateway only')
        }
      }
    })
  })
}

t.test('secret.example.yaml: a valid template of the documented Secret, never a resource', async (t) => {
  const file = join(BASE, 'secret.example.yaml')
  const objects = parseObjects(readFileSync(file, 'utf8'), file)
  t.equal(objects.length, 1, 'one object')
  const secret = objects[0] as ISecret
  t.same(schemaProblems(secret), [], 'a valid Secret')
  t.equal(secret.metadata?.name, PLATFORM_SECRET, `named ${PLATFORM_SECRET}`)
  t.same(Object.keys(secret.stringData ?? {}).sort(), [...secretDocs().created].sort(), 'the keys of the README\'s create command')
  const base = parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')) as { resources?: string[] }
  t.notOk(base.resources?.includes('secret.example.yaml'), 'not among the base\'s resources')
  for (const dir of [BASE, PRODUCTION]) t.same(render(dir).filter((o) => o.kind === 'Secret').map(label), [], `${dir}: renders no Secret`)
})
