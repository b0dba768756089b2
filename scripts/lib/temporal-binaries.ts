/**
 * Locates (and, when asked, provisions) the two Temporal servers the project runs against:
 *  - the Temporal CLI (`temporal server start-dev`), built from its Go module because no binary can be downloaded here;
 *  - Temporal's Java time-skipping test server, resolved from Maven Central and started through a wrapper script.
 * Builds are cached per user outside the repo, keyed by version, so fresh clones and CI reuse them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
/** The dev server embedded in CLI v1.5.1; its `--version` prints "0.0.0-DEV (Server 1.29.1, ...)" when built from source. */
const TEMPORAL_CLI_SERVER_MARKER = 'Server 1.29.1';
export const JAVA_TEST_SERVER_VERSION = '1.31.0';

type Log = (line: string) => void;

/**
 * Dynamic config for every `temporal server start-dev` the project runs (npm start, tests, benchmarks), matching
 * deploy/temporal/dynamicconfig/cluster.yaml where it matters: update-with-start (multi-operation), and eager
 * activity dispatch, off by default in the server: an activity scheduled on the worker's own task queue comes back
 * with the workflow task's completion instead of through a matching round trip. One partition per task queue: the
 * default four spread a single host's tasks and pollers over partitions that forward to each other (parking 4,000
 * jobs took 137 s instead of 162 s); a multi-host cluster keeps the default.
 */
export const DEV_SERVER_DYNAMIC_CONFIG_ARGS = [
  '--dynamic-config-value',
  'frontend.enableExecuteMultiOperation=true',
  '--dynamic-config-value',
  'system.enableActivityEagerExecution=true',
  '--dynamic-config-value',
  'matching.numTaskqueueReadPartitions=1',
  '--dynamic-config-value',
  'matching.numTaskqueueWritePartitions=1',
];

export class ProvisioningError extends Error {
  override name = 'ProvisioningError';
}

export function cacheRoot(): string {
  const base = process.env.AIO_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'azure-import-orchestrator');
  return base;
}

export function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, cmd);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function cliVersionMatches(binary: string): boolean {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  const text = `${out.stdout ?? ''}`;
  return text.includes(TEMPORAL_CLI_VERSION.slice(1)) || text.includes(TEMPORAL_CLI_SERVER_MARKER);
}

export function cachedCliPath(): string {
  return path.join(cacheRoot(), 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal');
}

/** Finds the Temporal CLI without building it; undefined when none is available. */
export function findTemporalCli(): string | undefined {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new ProvisioningError(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  if (isExecutable(cachedCliPath())) return cachedCliPath();
  const onPath = which('temporal');
  if (onPath && cliVersionMatches(onPath)) return onPath;
  return undefined;
}

function goVersion(): [number, number] | undefined {
  const go = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) return undefined;
  const m = /go(\d+)\.(\d+)/.exec(go.stdout);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Returns the Temporal CLI, building it with `go install` into the per-user cache when needed. */
export function provisionTemporalCli(log: Log): string {
  const found = findTemporalCli();
  if (found) {
    log(`Temporal CLI: ${found}`);
    return found;
  }
  const v = goVersion();
  if (!v) {
    throw new ProvisioningError(
      [
        'The Temporal CLI is not installed and Go is not available to build it.',
        '  Either install Go >= 1.25 (https://go.dev/doc/install) and run this again,',
        '  or install the Temporal CLI yourself (https://docs.temporal.io/cli#install, e.g. `brew install temporal`)',
        '  and set TEMPORAL_CLI_PATH=/path/to/temporal.',
      ].join('\n'),
    );
  }
  if (v[0] < 1 || (v[0] === 1 && v[1] < 25)) {
    throw new ProvisioningError(`Go ${v.join('.')} is too old to build Temporal CLI ${TEMPORAL_CLI_VERSION} (needs >= 1.25). Install a newer Go or set TEMPORAL_CLI_PATH.`);
  }
  const target = cachedCliPath();
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-cli-build-'));
  log(`Building Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (first run only; takes a few minutes) ...`);
  const started = Date.now();
  const res = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: staging, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
  });
  if (res.status !== 0) {
    throw new ProvisioningError(`go install of the Temporal CLI failed (exit ${res.status ?? res.signal}). Is the Go module proxy reachable? See the output above.`);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  // Rename into place last, so an interrupted build never leaves a half-written binary in the cache.
  fs.copyFileSync(path.join(staging, 'temporal'), `${target}.tmp`);
  fs.chmodSync(`${target}.tmp`, 0o755);
  fs.renameSync(`${target}.tmp`, target);
  fs.rmSync(staging, { recursive: true, force: true });
  log(`Temporal CLI built in ${Math.round((Date.now() - started) / 1000)} s: ${target}`);
  return target;
}

function testServerDir(): string {
  return path.join(cacheRoot(), 'temporal-test-server', JAVA_TEST_SERVER_VERSION);
}

export function cachedTestServerPath(): string {
  return path.join(testServerDir(), 'temporal-test-server');
}

/** Finds the time-skipping test server wrapper without provisioning it. */
export function findTestServer(): string | undefined {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new ProvisioningError(`TEMPORAL_TEST_SERVER_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  return isExecutable(cachedTestServerPath()) ? cachedTestServerPath() : undefined;
}

/** Resolves io.temporal:temporal-test-server from Maven Central and writes a wrapper that starts it on a JVM. */
export function provisionTestServer(log: Log): string {
  const found = findTestServer();
  if (found) {
    log(`Temporal time-skipping test server: ${found}`);
    return found;
  }
  for (const tool of ['java', 'mvn']) {
    if (!which(tool)) {
      throw new ProvisioningError(`${tool} is needed to provision Temporal's time-skipping test server (a JDK >= 11 and Maven). Install them, or set TEMPORAL_TEST_SERVER_PATH to a test server binary.`);
    }
  }
  const dir = testServerDir();
  fs.mkdirSync(dir, { recursive: true });
  const pom = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.azure-import-orchestrator</groupId>
  <artifactId>temporal-test-server-classpath</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${JAVA_TEST_SERVER_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;
  fs.writeFileSync(path.join(dir, 'pom.xml'), pom);
  log(`Resolving io.temporal:temporal-test-server:${JAVA_TEST_SERVER_VERSION} from Maven Central ...`);
  const classpathFile = path.join(dir, 'classpath.txt');
  try {
    execFileSync('mvn', ['-q', '-B', '-f', path.join(dir, 'pom.xml'), 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch {
    throw new ProvisioningError('Maven could not resolve the Temporal test server (see output above). Is Maven Central reachable?');
  }
  const wrapper = cachedTestServerPath();
  // Fast JVM start matters: the SDK gives a test server only 5 s to listen.
  const script = `#!/bin/sh
# Temporal Java time-skipping test server ${JAVA_TEST_SERVER_VERSION}; usage: temporal-test-server <port> [--enable-time-skipping]
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -cp "$(cat '${classpathFile}')" io.temporal.testserver.TestServer "$@"
`;
  fs.writeFileSync(`${wrapper}.tmp`, script, { mode: 0o755 });
  fs.renameSync(`${wrapper}.tmp`, wrapper);
  log(`Temporal time-skipping test server ready: ${wrapper}`);
  return wrapper;
}
