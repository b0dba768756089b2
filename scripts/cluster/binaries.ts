/**
 * Test-only provisioning of a production-shaped Temporal cluster on this machine:
 *  - the Temporal server and temporal-sql-tool, built from the go.temporal.io/server module with `go install` (the
 *    module has no replace directives, so `go install <module>@<version>` works) and cached per user, keyed by version,
 *    next to the Temporal CLI (see scripts/lib/temporal-binaries.ts);
 *  - PostgreSQL from the operating system's packages (Debian: `apt-get install postgresql`), never downloaded here.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProvisioningError, cacheRoot, isExecutable } from '../lib/temporal-binaries';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const MODULE = 'go.temporal.io/server';

type Log = (line: string) => void;

export interface ServerBinaries {
  server: string;
  sqlTool: string;
}

export function serverCacheDir(): string {
  return path.join(cacheRoot(), 'temporal-server', TEMPORAL_SERVER_VERSION);
}

/** Finds the cached server binaries (or TEMPORAL_SERVER_PATH / TEMPORAL_SQL_TOOL_PATH) without building. */
export function findServerBinaries(): ServerBinaries | undefined {
  const server = process.env.TEMPORAL_SERVER_PATH ?? path.join(serverCacheDir(), 'temporal-server');
  const sqlTool = process.env.TEMPORAL_SQL_TOOL_PATH ?? path.join(serverCacheDir(), 'temporal-sql-tool');
  return isExecutable(server) && isExecutable(sqlTool) ? { server, sqlTool } : undefined;
}

/** Returns the server binaries, building them with `go install` into the per-user cache when needed (~3-10 min). */
export function provisionServerBinaries(log: Log): ServerBinaries {
  const found = findServerBinaries();
  if (found) return found;
  const go = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new ProvisioningError(
      'Go (>= 1.25) is needed to build the Temporal server for the cluster test; install it, or set TEMPORAL_SERVER_PATH and TEMPORAL_SQL_TOOL_PATH to temporal-server / temporal-sql-tool binaries.',
    );
  }
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-server-build-'));
  log(`Building Temporal server ${TEMPORAL_SERVER_VERSION} and temporal-sql-tool with go install (first run only; several minutes) ...`);
  const started = Date.now();
  const res = spawnSync('go', ['install', `${MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`, `${MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: staging, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
  });
  if (res.status !== 0) {
    throw new ProvisioningError(`go install of the Temporal server failed (exit ${res.status ?? res.signal}); is the Go module proxy reachable?`);
  }
  const dir = serverCacheDir();
  fs.mkdirSync(dir, { recursive: true });
  for (const [built, name] of [
    ['server', 'temporal-server'],
    ['sql', 'temporal-sql-tool'],
  ] as const) {
    const target = path.join(dir, name);
    fs.copyFileSync(path.join(staging, built), `${target}.tmp`);
    fs.chmodSync(`${target}.tmp`, 0o755);
    fs.renameSync(`${target}.tmp`, target);
  }
  fs.rmSync(staging, { recursive: true, force: true });
  log(`Temporal server built in ${Math.round((Date.now() - started) / 1000)} s: ${dir}`);
  const built = findServerBinaries();
  if (!built) throw new ProvisioningError(`built the Temporal server but ${dir} does not hold it`);
  return built;
}

export interface PostgresBinaries {
  bin: string;
  initdb: string;
  pgCtl: string;
  /** Run PostgreSQL commands as this user (initdb refuses root); undefined = the current user. */
  runAs: string | undefined;
}

/** Locates PostgreSQL's server binaries (Debian puts them in /usr/lib/postgresql/<major>/bin). */
export function findPostgres(): PostgresBinaries {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    for (const v of fs.readdirSync(debian).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(debian, v, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(dir);
  const bin = candidates.find((d) => isExecutable(path.join(d, 'initdb')) && isExecutable(path.join(d, 'pg_ctl')));
  if (!bin) {
    throw new ProvisioningError('PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian/Ubuntu: apt-get install postgresql) or set PG_BIN');
  }
  let runAs: string | undefined;
  if (process.getuid?.() === 0) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) throw new ProvisioningError('running as root, and there is no "postgres" user to run PostgreSQL as (initdb refuses root)');
    runAs = 'postgres';
  }
  return { bin, initdb: path.join(bin, 'initdb'), pgCtl: path.join(bin, 'pg_ctl'), runAs };
}
