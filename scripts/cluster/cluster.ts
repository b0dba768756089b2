/**
 * A production-shaped Temporal deployment on this machine, for tests: PostgreSQL (persistence + visibility) in a temp
 * dir on a loopback port, the schema set up with temporal-sql-tool, the Temporal server (all services, one process,
 * config deploy/temporal/config/cluster.yaml) on free loopback ports, and worker processes (`worker/main.ts`).
 * Everything it starts can be killed and restarted individually (SIGKILL a worker, restart the server).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { findPostgres, provisionServerBinaries, type PostgresBinaries, type ServerBinaries } from './binaries';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CLUSTER_CONFIG_DIR = path.join(REPO_ROOT, 'deploy', 'temporal', 'config');
export const CLUSTER_DYNAMIC_CONFIG = path.join(REPO_ROOT, 'deploy', 'temporal', 'dynamicconfig', 'cluster.yaml');

type Log = (line: string) => void;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * `n` distinct free ports in 20000-32000, below the kernel's ephemeral range (32768-60999): a port from there can be
 * taken by any outgoing connection between the pick and the bind (a test's worker once found its metrics port held
 * for good). Temporal also stores its services' ports in cluster_membership.rpc_port, a PostgreSQL smallint: ports
 * above 32767 make the server die at start with `value "42641" is out of range for type smallint`.
 */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) {
    const candidate = 20000 + Math.floor(Math.random() * 12000);
    if (!ports.has(candidate) && (await portIsFree(candidate))) ports.add(candidate);
  }
  return [...ports];
}

/** One free port, as {@link freePorts} picks them. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process with its output captured to a log file (and kept in memory, bounded). */
export class ManagedProcess {
  child: ChildProcess | undefined;
  private output = '';
  private exitWaiters: Array<() => void> = [];
  readonly logFile: string;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly options: { cwd: string; env: NodeJS.ProcessEnv; logDir: string },
  ) {
    this.logFile = path.join(options.logDir, `${name}.log`);
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.output = '';
    const log = fs.createWriteStream(this.logFile, { flags: 'a' });
    log.write(`\n==== start ${new Date().toISOString()} ${this.command} ${this.args.join(' ')}\n`);
    const child = spawn(this.command, this.args, { cwd: this.options.cwd, env: this.options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d: Buffer) => {
      log.write(d);
      this.output = (this.output + d.toString('utf8')).slice(-200_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code, signal) => {
      log.end(`==== exit code=${code} signal=${signal} ${new Date().toISOString()}\n`);
      const waiters = this.exitWaiters;
      this.exitWaiters = [];
      for (const w of waiters) w();
    });
    this.child = child;
    liveChildren.add(child);
    child.on('exit', () => liveChildren.delete(child));
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get recentOutput(): string {
    return this.output;
  }

  /** Resolves once `pattern` appears in this run's output; rejects if the process exits first or on timeout. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pattern.test(this.output)) return;
      if (!this.running) throw new Error(`${this.name} exited before printing ${pattern}:\n${this.output.slice(-3000)}`);
      await sleep(100);
    }
    throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.output.slice(-3000)}`);
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
    if (!this.running || !this.child) return;
    const exited = new Promise<void>((r) => this.exitWaiters.push(r));
    this.child.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of liveChildren) c.kill('SIGKILL');
});

export interface PostgresHandle {
  port: number;
  user: string;
  password: string;
  dataDir: string;
  stop(): void;
}

function runPg(pg: PostgresBinaries, args: string[], what: string, env: NodeJS.ProcessEnv = process.env): void {
  const cmd = pg.runAs ? 'runuser' : args[0]!;
  const full = pg.runAs ? ['-u', pg.runAs, '--', ...args] : args.slice(1);
  const res = spawnSync(cmd, full, { encoding: 'utf8', env, timeout: 120_000 });
  if (res.status !== 0) throw new Error(`${what} failed (exit ${res.status ?? res.signal}): ${res.stderr || res.stdout}`);
}

/** initdb + pg_ctl start in `dir` (owned by the postgres user when running as root), on 127.0.0.1:`port` only. */
export function startPostgres(dir: string, port: number, log: Log): PostgresHandle {
  const pg = findPostgres();
  const user = 'temporal';
  const password = randomBytes(18).toString('base64url');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dataDir = path.join(dir, 'data');
  const pwFile = path.join(dir, 'pwfile');
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (pg.runAs) {
    spawnSync('chown', ['-R', pg.runAs, dir]);
    // The postgres user must be able to reach the directory.
    for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
      const mode = fs.statSync(d).mode;
      if ((mode & 0o001) === 0) fs.chmodSync(d, mode | 0o001);
    }
  }
  log(`PostgreSQL (${pg.bin}): initdb in ${dataDir}`);
  runPg(pg, [pg.initdb, '-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync'], 'initdb');
  fs.rmSync(pwFile, { force: true });
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=200`;
  runPg(pg, [pg.pgCtl, '-D', dataDir, '-l', path.join(dir, 'postgres.log'), '-o', opts, '-w', '-t', '60', 'start'], 'pg_ctl start');
  log(`PostgreSQL listening on 127.0.0.1:${port}`);
  return {
    port,
    user,
    password,
    dataDir,
    stop() {
      try {
        runPg(pg, [pg.pgCtl, '-D', dataDir, '-m', 'fast', '-w', 'stop'], 'pg_ctl stop');
      } catch (e) {
        log(String(e));
      }
    },
  };
}

export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerMembership: number;
  serverMetrics: number;
  postgres: number;
}

export interface LocalClusterOptions {
  /** Working directory for PostgreSQL data and logs; default a fresh temp dir (removed by stop() unless keepDir). */
  dir?: string;
  keepDir?: boolean;
  namespace?: string;
  log?: Log;
}

/** PostgreSQL + Temporal server (built from go.temporal.io/server) on loopback. */
export class LocalCluster {
  readonly dir: string;
  readonly namespace: string;
  readonly log: Log;
  ports!: ClusterPorts;
  binaries!: ServerBinaries;
  postgres: PostgresHandle | undefined;
  server: ManagedProcess | undefined;

  constructor(private readonly opts: LocalClusterOptions = {}) {
    this.dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'aio-cluster-'));
    this.namespace = opts.namespace ?? 'default';
    this.log = opts.log ?? ((l) => console.log(`[cluster] ${l}`));
  }

  get address(): string {
    return `127.0.0.1:${this.ports.frontend}`;
  }

  get logDir(): string {
    return path.join(this.dir, 'logs');
  }

  async start(): Promise<this> {
    try {
      return await this.startUnsafe();
    } catch (e) {
      await this.stop().catch(() => undefined);
      throw e;
    }
  }

  private async startUnsafe(): Promise<this> {
    fs.mkdirSync(this.logDir, { recursive: true });
    this.binaries = provisionServerBinaries(this.log);
    const p = await freePorts(11);
    this.ports = {
      frontend: p[0]!,
      frontendHttp: p[1]!,
      history: p[2]!,
      matching: p[3]!,
      worker: p[4]!,
      frontendMembership: p[5]!,
      historyMembership: p[6]!,
      matchingMembership: p[7]!,
      workerMembership: p[8]!,
      serverMetrics: p[9]!,
      postgres: p[10]!,
    };
    this.postgres = startPostgres(path.join(this.dir, 'pg'), this.ports.postgres, this.log);
    this.setupSchema();
    this.server = new ManagedProcess(
      'temporal-server',
      this.binaries.server,
      ['--root', '/', '--config', CLUSTER_CONFIG_DIR, '--env', 'cluster', '--allow-no-auth', 'start'],
      { cwd: REPO_ROOT, env: this.serverEnv(), logDir: this.logDir },
    );
    await this.startServer();
    await this.ensureNamespace();
    return this;
  }

  private serverEnv(): NodeJS.ProcessEnv {
    const pg = this.postgres!;
    const p = this.ports;
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_LOG_LEVEL: process.env.TEMPORAL_LOG_LEVEL ?? 'warn',
      TEMPORAL_PG_HOST: '127.0.0.1',
      TEMPORAL_PG_PORT: String(pg.port),
      TEMPORAL_PG_USER: pg.user,
      TEMPORAL_PG_PASSWORD: pg.password,
      TEMPORAL_BIND_IP: '127.0.0.1',
      TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
      TEMPORAL_FRONTEND_PORT: String(p.frontend),
      TEMPORAL_FRONTEND_HTTP_PORT: String(p.frontendHttp),
      TEMPORAL_HISTORY_PORT: String(p.history),
      TEMPORAL_MATCHING_PORT: String(p.matching),
      TEMPORAL_WORKER_PORT: String(p.worker),
      TEMPORAL_FRONTEND_MEMBERSHIP_PORT: String(p.frontendMembership),
      TEMPORAL_HISTORY_MEMBERSHIP_PORT: String(p.historyMembership),
      TEMPORAL_MATCHING_MEMBERSHIP_PORT: String(p.matchingMembership),
      TEMPORAL_WORKER_MEMBERSHIP_PORT: String(p.workerMembership),
      TEMPORAL_SERVER_METRICS_PORT: String(p.serverMetrics),
      TEMPORAL_DYNAMIC_CONFIG_FILE: CLUSTER_DYNAMIC_CONFIG,
    };
  }

  /** temporal-sql-tool: create both databases and apply the embedded versioned schemas. */
  private setupSchema(): void {
    const pg = this.postgres!;
    const base = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pg.port), '-u', pg.user];
    const env = { ...process.env, SQL_PASSWORD: pg.password };
    const run = (args: string[]) => {
      const res = spawnSync(this.binaries.sqlTool, [...base, ...args], { encoding: 'utf8', env, timeout: 120_000 });
      if (res.status !== 0) throw new Error(`temporal-sql-tool ${args.join(' ')} failed: ${res.stderr || res.stdout}`);
    };
    for (const [db, schema] of [
      ['temporal', 'postgresql/v12/temporal'],
      ['temporal_visibility', 'postgresql/v12/visibility'],
    ] as const) {
      run(['--db', db, 'create']);
      run(['--db', db, 'setup-schema', '-v', '0.0']);
      run(['--db', db, 'update-schema', '--schema-name', schema]);
    }
    this.log('schema set up (temporal, temporal_visibility)');
  }

  /** Starts the server process and waits until the frontend answers. */
  async startServer(timeoutMs = 90_000): Promise<void> {
    const started = Date.now();
    this.server!.start();
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      if (!this.server!.running) throw new Error(`temporal-server exited:\n${this.server!.recentOutput.slice(-4000)}`);
      try {
        const conn = await Connection.connect({ address: this.address, connectTimeout: 2000 });
        try {
          await conn.workflowService.getSystemInfo({});
          // The history service must own its shards too: listing workflows in the system namespace exercises the stack.
          await conn.workflowService.describeNamespace({ namespace: 'temporal-system' });
        } finally {
          await conn.close();
        }
        this.log(`Temporal server ${this.address} up in ${Date.now() - started} ms (pid ${this.server!.pid})`);
        return;
      } catch (e) {
        last = e;
        await sleep(300);
      }
    }
    throw new Error(`Temporal server not ready within ${timeoutMs} ms: ${String(last)}\n${this.server!.recentOutput.slice(-4000)}`);
  }

  async stopServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.server?.stop(signal);
  }

  async restartServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stopServer(signal);
    await this.startServer();
  }

  private async ensureNamespace(): Promise<void> {
    const conn = await Connection.connect({ address: this.address });
    try {
      try {
        await conn.workflowService.registerNamespace({ namespace: this.namespace, workflowExecutionRetentionPeriod: msToTs('3 days') });
        this.log(`namespace ${this.namespace} registered`);
      } catch (e) {
        if ((e as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw e;
      }
      // The frontend's namespace cache refreshes every few seconds.
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await conn.workflowService.listWorkflowExecutions({ namespace: this.namespace, pageSize: 1 });
          return;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await sleep(500);
        }
      }
    } finally {
      await conn.close();
    }
  }

  async stop(): Promise<void> {
    await this.server?.stop('SIGTERM', 10_000);
    this.postgres?.stop();
    this.postgres = undefined;
    if (!this.opts.keepDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A `worker/main.ts` process (node --import tsx), exactly how a deployment runs it. */
export function workerProcess(name: string, env: Record<string, string>, logDir: string): ManagedProcess {
  return new ManagedProcess(name, process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'worker', 'main.ts')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'WARN', ...env },
    logDir,
  });
}
