/**
 * docker-compose.yml, Dockerfile, .dockerignore and .env.example checked against the project (no Docker needed):
 * valid compose structure, every file/script/volume/secret/port/env var it names exists or is read by our code,
 * images pinned, no secrets inline, search attributes in sync with common/search-attributes.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { IMPORT_JOB_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { loadMetricsConfig } from '../metrics/config';
import { loadWorkerConfig } from '../worker/config';

const root = path.resolve(__dirname, '..');
const composeText = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');

interface Healthcheck {
  test: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  env_file?: string[];
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Healthcheck;
  restart?: string;
  profiles?: string[];
  deploy?: { replicas?: number };
  init?: boolean;
}
interface Compose {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
}

const compose = parse(composeText, { merge: true }) as Compose;
const services = Object.entries(compose.services);
const projectServices = services.filter(([, s]) => s.build !== undefined);
const thirdParty = services.filter(([, s]) => s.build === undefined);

/** Source files of the running code (what reads configuration), excluding tests. */
function sourceFiles(): string[] {
  const dirs = ['worker', 'activities', 'security', 'codec-server', 'console', 'emulator', 'metrics', 'common', 'workflows', 'client'];
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push(p);
    }
  };
  for (const d of dirs) walk(path.join(root, d));
  return out;
}
const sources = sourceFiles().map((f) => fs.readFileSync(f, 'utf8'));
/** An env var counts as read when it is a zod schema key, a quoted name or `env.NAME` in the code. */
function readByCode(name: string): boolean {
  const re = new RegExp(`(['"\`]${name}['"\`]|\\b${name}\\s*:|env\\.${name}\\b)`);
  return sources.some((s) => re.test(s));
}

function envFileKeys(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.slice(0, l.indexOf('=')));
}

/** Container-side port of "host:port:container" / "port:container" / "port". */
function containerPort(mapping: string): number {
  return Number(mapping.split(':').pop());
}

/** A service environment as strings, ${VAR:-default} resolved to its default (compose interpolation). */
function resolvedEnv(s: Service): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.environment ?? {})) out[k] = String(v).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
  return out;
}

describe('docker-compose.yml', () => {
  test('is a valid compose file: known top-level keys, every service has an image or build, references resolve', () => {
    const allowedTop = new Set(['name', 'services', 'volumes', 'secrets', 'networks', 'configs']);
    for (const key of Object.keys(compose)) assert.ok(allowedTop.has(key) || key.startsWith('x-'), `unknown top-level key ${key}`);
    assert.match(compose.name ?? '', /^[a-z0-9][a-z0-9_-]*$/, 'project name: lowercase letters, digits, dashes, underscores');
    const allowedService = new Set([
      'image', 'build', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'expose', 'volumes', 'secrets', 'depends_on',
      'healthcheck', 'restart', 'profiles', 'deploy', 'init',
    ]);
    for (const [name, s] of services) {
      assert.match(name, /^[a-z0-9][a-z0-9_.-]*$/, `service name ${name}`);
      for (const key of Object.keys(s)) assert.ok(allowedService.has(key), `${name}: unexpected key ${key}`);
      assert.ok(s.image || s.build, `${name}: needs image or build`);
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        assert.ok(compose.services[dep], `${name} depends on unknown service ${dep}`);
        assert.ok(['service_started', 'service_healthy', 'service_completed_successfully'].includes(cond.condition), `${name} → ${dep}: condition`);
        if (cond.condition === 'service_healthy') assert.ok(compose.services[dep]!.healthcheck, `${name} waits for ${dep} to be healthy, which has no healthcheck`);
        assert.ok(!compose.services[dep]!.profiles || s.profiles, `${name} depends on ${dep}, which only runs under a profile`);
      }
      for (const sec of s.secrets ?? []) assert.ok(compose.secrets?.[sec], `${name}: secret ${sec} is not declared`);
      for (const v of s.volumes ?? []) {
        const [src, target] = v.split(':');
        assert.ok(src && target?.startsWith('/'), `${name}: volume ${v}`);
        if (src.startsWith('.') || src.startsWith('/')) assert.ok(fs.existsSync(path.join(root, src)), `${name}: bind-mount source ${src} does not exist`);
        else assert.ok(compose.volumes && src in compose.volumes, `${name}: named volume ${src} is not declared`);
      }
      for (const p of s.ports ?? []) {
        assert.match(p, /^127\.0\.0\.1:\d+:\d+$/, `${name}: published port ${p} must be bound to 127.0.0.1 on the host`);
      }
      if (s.restart !== undefined) assert.match(s.restart, /^(no|always|unless-stopped|on-failure(:\d+)?)$/, `${name}: restart`);
      if (s.healthcheck) {
        const t = s.healthcheck.test;
        assert.ok(Array.isArray(t) && (t[0] === 'CMD' || t[0] === 'CMD-SHELL'), `${name}: healthcheck test must be ["CMD", ...] or ["CMD-SHELL", ...]`);
        for (const d of [s.healthcheck.interval, s.healthcheck.timeout, s.healthcheck.start_period]) if (d !== undefined) assert.match(d, /^\d+(ms|s|m)$/);
      }
    }
    for (const name of Object.keys(compose.volumes ?? {})) {
      assert.ok(services.some(([, s]) => (s.volumes ?? []).some((v) => v.startsWith(`${name}:`))), `volume ${name} is declared but unused`);
    }
  });

  test('long-running services restart and have health checks; one-shot jobs restart only on failure', () => {
    for (const [name, s] of services) {
      const oneShot = Object.values(compose.services).some((o) => Object.entries(o.depends_on ?? {}).some(([d, c]) => d === name && c.condition === 'service_completed_successfully'));
      if (oneShot) {
        assert.match(s.restart ?? '', /^on-failure/, `${name} (one-shot) restarts on failure only`);
      } else {
        assert.equal(s.restart, 'unless-stopped', `${name}: restart policy`);
        if (name !== 'temporal-ui') assert.ok(s.healthcheck, `${name}: health check`);
      }
    }
  });

  test('third-party images are pinned to versions; the Temporal server matches the version the cluster test builds', async () => {
    for (const [name, s] of thirdParty) {
      const image = s.image ?? '';
      const tag = image.includes('@sha256:') ? 'digest' : image.split(':')[1];
      assert.ok(tag && tag !== 'latest' && /\d/.test(tag), `${name}: image ${image} must be pinned to a version`);
    }
    const { TEMPORAL_SERVER_VERSION } = await import('../scripts/cluster/binaries');
    assert.equal(compose.services.temporal?.image, `temporalio/server:${TEMPORAL_SERVER_VERSION.slice(1)}`);
    for (const n of ['temporal-schema', 'temporal-namespace']) assert.match(compose.services[n]?.image ?? '', new RegExp(`^temporalio/admin-tools:${TEMPORAL_SERVER_VERSION.slice(1)}-`));
  });

  test('the project services are built from this repository and run files that exist, with tsx', () => {
    assert.ok(projectServices.length >= 5);
    for (const [name, s] of projectServices) {
      assert.ok(fs.statSync(path.join(root, s.build!.context)).isDirectory(), `${name}: build context`);
      assert.ok(fs.existsSync(path.join(root, s.build!.context, s.build!.dockerfile ?? 'Dockerfile')), `${name}: dockerfile`);
      const cmd = s.command;
      assert.ok(Array.isArray(cmd), `${name}: command as an exec array (signals reach node)`);
      assert.deepEqual(cmd.slice(0, 3), ['node', '--import', 'tsx'], `${name}: runs with tsx`);
      const script = cmd[3]!;
      assert.ok(fs.existsSync(path.join(root, script)), `${name}: ${script} does not exist`);
      assert.ok(s.init, `${name}: init: true (PID 1 reaps and forwards signals)`);
    }
    const scripts = Object.fromEntries(projectServices.map(([n, s]) => [n, (s.command as string[])[3]]));
    assert.deepEqual(scripts, {
      worker: 'worker/main.ts',
      'prepare-station': 'worker/main.ts',
      console: 'console/main.ts',
      'codec-server': 'codec-server/main.ts',
      emulator: 'emulator/main.ts',
    });
  });

  test('topology: 2 orchestrator workers, a prepare station with a drives volume, the emulator only under its profile', () => {
    const w = compose.services.worker!;
    assert.equal(w.deploy?.replicas, 2);
    assert.equal(w.environment?.WORKER_ROLES, 'orchestrator');
    assert.ok(!w.ports, 'replicated workers publish no host ports');
    const p = compose.services['prepare-station']!;
    assert.equal(p.environment?.WORKER_ROLES, 'prepare');
    assert.ok(p.volumes?.some((v) => v.startsWith('drives:')), 'drives volume');
    assert.deepEqual(compose.services.emulator?.profiles, ['emulator']);
    for (const [name, s] of services) if (name !== 'emulator') assert.equal(s.profiles, undefined, `${name} runs by default`);
    const ui = compose.services['temporal-ui']!;
    assert.match(String(ui.environment?.TEMPORAL_CODEC_ENDPOINT), /8888/, 'the Web UI points at the codec server');
    assert.equal(containerPort(compose.services['codec-server']!.ports![0]!), 8888);
    assert.equal(compose.services.temporal?.environment?.DB, 'postgres12');
  });

  test('every environment variable of a project service is read by our code, and parses', () => {
    for (const [name, s] of projectServices) {
      for (const key of Object.keys(s.environment ?? {})) assert.ok(readByCode(key), `${name}: ${key} is not read anywhere in the code`);
      for (const f of s.env_file ?? []) assert.ok(f === '.env', `${name}: env_file ${f}`);
    }
    for (const n of ['worker', 'prepare-station']) {
      const env = resolvedEnv(compose.services[n]!);
      const cfg = loadWorkerConfig(env);
      assert.equal(cfg.REGISTER_SEARCH_ATTRIBUTES, false, `${n}: replicas must not race to add search attributes`);
      const metrics = loadMetricsConfig(env);
      assert.equal(metrics.bind, '0.0.0.0:9464');
      assert.ok(compose.services[n]!.expose?.includes('9464'));
      assert.match(JSON.stringify(compose.services[n]!.healthcheck?.test), /127\.0\.0\.1:9464\/healthz/);
    }
  });

  test('service ports agree with the ports the processes are configured to listen on', () => {
    const checks: Array<[string, string]> = [
      ['console', 'CONSOLE_PORT'],
      ['codec-server', 'CODEC_SERVER_PORT'],
      ['emulator', 'EMULATOR_HTTP_PORT'],
    ];
    for (const [svc, variable] of checks) {
      const s = compose.services[svc]!;
      const port = Number(resolvedEnv(s)[variable]);
      assert.ok(port > 0, `${svc}: ${variable}`);
      assert.ok((s.ports ?? []).some((p) => containerPort(p) === port), `${svc}: publishes ${port}`);
      assert.match(JSON.stringify(s.healthcheck?.test), new RegExp(`127\\.0\\.0\\.1:${port}/`), `${svc}: healthcheck probes ${port}`);
      const host = resolvedEnv(s)[variable.replace(/_(HTTP_)?PORT$/, '_HOST')];
      assert.equal(host, '0.0.0.0', `${svc}: listens on all interfaces inside its container`);
    }
  });

  test('no secrets inline: secret-looking variables point at Docker secret files; secret files are gitignored and generated', () => {
    for (const [name, s] of services) {
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        if (/(PASSWORD|TOKEN|SECRET|KEYS?|PWD)(_FILE)?$/.test(k)) {
          assert.match(k, /_FILE$/, `${name}: ${k} would put a secret in the compose file; use ${k}_FILE and a Docker secret`);
          assert.match(String(v), /^\/run\/secrets\/[a-z_]+$/, `${name}: ${k}`);
          const secret = String(v).slice('/run/secrets/'.length);
          assert.ok(s.secrets?.includes(secret), `${name}: ${k} names secret ${secret}, which the service does not mount`);
        }
      }
    }
    // Values that look like credentials anywhere in the file (long random strings, PEM, connection strings).
    assert.doesNotMatch(composeText, /-----BEGIN|AccountKey=|SharedAccessSignature|sig=/);
    // Long random-looking tokens (base64 keys, passwords); file paths and environment variable names are fine.
    const tokens = composeText.match(/[A-Za-z0-9+/_-]{32,}={0,2}/g) ?? [];
    const harmless = (t: string): boolean => t.startsWith('/') || /^[a-z0-9./_-]+$/.test(t) || /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(t);
    for (const t of tokens) assert.ok(harmless(t), `possible inline secret: ${t.slice(0, 6)}…`);
    const maker = fs.readFileSync(path.join(root, 'deploy', 'make-secrets.sh'), 'utf8');
    for (const [name, sec] of Object.entries(compose.secrets ?? {})) {
      assert.ok(sec.file.startsWith('./data/'), `secret ${name} lives under data/`);
      // git must ignore it, so `git add -A` can never commit a key.
      execFileSync('git', ['-C', root, 'check-ignore', '-q', '--no-index', sec.file.slice(2)]);
      assert.ok(maker.includes(path.basename(sec.file)), `deploy/make-secrets.sh creates ${sec.file}`);
      assert.ok(services.some(([, s]) => s.secrets?.includes(name)), `secret ${name} is unused`);
    }
    assert.ok(compose.secrets?.payload_keys && compose.secrets.codec_token, 'payload keys and codec token are Docker secrets');
  });

  test('.env.example documents every interpolated variable, and each of its keys is used', () => {
    const example = envFileKeys(path.join(root, '.env.example'));
    const interpolated = [...composeText.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)(?::?-[^}]*)?\}/g)].map((m) => m[1]!);
    for (const v of new Set(interpolated)) assert.ok(example.includes(v), `${v} is interpolated in docker-compose.yml but not in .env.example`);
    for (const k of example) assert.ok(interpolated.includes(k) || readByCode(k), `.env.example: ${k} is neither interpolated nor read by the code`);
    const exampleText = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
    assert.doesNotMatch(exampleText, /^(PAYLOAD_KEYS|CODEC_SERVER_TOKEN|POSTGRES_PASSWORD|AZURE_CLIENT_SECRET)=/m, 'no secrets in .env.example');
  });

  test('the namespace job creates exactly the search attributes the workflows use', () => {
    const script = JSON.stringify(compose.services['temporal-namespace']?.command);
    const kinds = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList' } as const;
    const listed = [...script.matchAll(/([A-Za-z]+):(Keyword|KeywordList)\b/g)].map((m) => `${m[1]}:${m[2]}`).sort();
    const expected = IMPORT_JOB_SEARCH_ATTRIBUTES.map((k) => `${k.name}:${kinds[k.type as keyof typeof kinds]}`).sort();
    assert.deepEqual(listed, expected);
  });

  test('the Temporal server mounts the dynamic config file it is told to load', () => {
    const t = compose.services.temporal!;
    const file = String(t.environment?.DYNAMIC_CONFIG_FILE_PATH);
    const mount = t.volumes?.find((v) => v.split(':')[1] === '/etc/temporal/config/dynamicconfig');
    assert.ok(mount, 'dynamicconfig mount');
    assert.ok(fs.existsSync(path.join(root, mount.split(':')[0]!, path.basename(file))), `${file} exists in deploy/`);
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  test('node 24 LTS slim pinned, npm ci from the lock file, runs as a non-root user with tsx', () => {
    assert.match(dockerfile, /NODE_IMAGE=node:24\.\d+\.\d+-[a-z]+-slim/);
    assert.match(dockerfile, /COPY package\.json package-lock\.json/);
    assert.match(dockerfile, /npm ci\b/);
    assert.match(dockerfile, /^USER node$/m);
    // The worker runs as `node`, which cannot write node_modules/.cache: the bundles are built before.
    assert.ok(dockerfile.indexOf('bundling/build.ts') > 0 && dockerfile.indexOf('bundling/build.ts') < dockerfile.indexOf('USER node'), 'bundles built as root');
    assert.match(dockerfile, /CMD \["node", "--import", "tsx", "worker\/main\.ts"\]/);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.ok(pkg.dependencies.tsx, 'tsx is a runtime dependency (npm ci --omit=dev keeps it)');
  });
  test('the build context leaves out local state and secrets', () => {
    const ignore = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'data', '.env', '.git']) assert.ok(ignore.includes(p), `.dockerignore: ${p}`);
  });
});
