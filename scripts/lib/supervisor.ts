/**
 * Keeps the processes of the local stack running: each component is its own process, so a crash in one (a bad
 * request, a bug) cannot take the others down. A component that exits unexpectedly is restarted with back-off;
 * one that keeps crashing is reported and the whole stack stops cleanly rather than running half-supervised.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** A port the service listens on once it is ready. */
  readyPort?: number;
  readyTimeoutMs?: number;
  /** Where its output goes: the terminal, or a log file (quiet terminal, details on disk). */
  output: 'terminal' | { logFile: string };
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
}

const MAX_RESTARTS = 5;
/** Restarts older than this are forgiven: a crash a day is not a crash loop. */
const RESTART_WINDOW_MS = 5 * 60_000;

export function waitForPort(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (!alive()) return reject(new Error(`stopped before listening on ${port}`));
      const sock = net.connect({ host: '127.0.0.1', port }, () => {
        sock.end();
        resolve();
      });
      sock.on('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

/** The last lines of a log file, to show why a component died without flooding the terminal. */
function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `      ${l}`).join('\n');
  } catch {
    return '';
  }
}

interface Running {
  spec: ServiceSpec;
  proc: ChildProcess;
  restarts: number[];
  /** Set once it crashed too often to be restarted again. */
  gaveUp: boolean;
}

export class Supervisor {
  private readonly services: Running[] = [];
  private stopping = false;

  constructor(
    private readonly log: (line: string) => void,
    /** Called once when a component cannot be kept running; the caller stops the stack. */
    private readonly onGiveUp: (reason: string) => void,
  ) {}

  /** Starts a component and resolves once it is ready (its port accepts connections). */
  async start(spec: ServiceSpec): Promise<void> {
    const running: Running = { spec, proc: this.spawn(spec), restarts: [], gaveUp: false };
    this.services.push(running);
    this.watch(running);
    await this.ready(running);
  }

  private spawn(spec: ServiceSpec): ChildProcess {
    if (spec.output === 'terminal') return spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', 'inherit', 'inherit'] });
    const fd = fs.openSync(spec.output.logFile, 'a', 0o600);
    try {
      return spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
  }

  private async ready(running: Running): Promise<void> {
    const { spec } = running;
    if (spec.readyPort === undefined) return;
    try {
      // A crash while starting is restarted like any other (the Temporal CLI picks its internal ports itself and can
      // lose one to another process): readiness waits across restarts until the component is given up on.
      await waitForPort(spec.readyPort, spec.readyTimeoutMs ?? 60_000, () => !running.gaveUp && !this.stopping);
    } catch (err) {
      const logFile = spec.output === 'terminal' ? undefined : spec.output.logFile;
      throw new Error(`${spec.name} did not start: ${(err as Error).message}${logFile ? `\n${tail(logFile, 15)}\n    (full log: ${logFile})` : ''}`);
    }
  }

  private watch(running: Running): void {
    running.proc.once('exit', (code, signal) => {
      if (this.stopping) return;
      const { spec } = running;
      const now = Date.now();
      running.restarts = running.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
      const why = signal ? `signal ${signal}` : `code ${code}`;
      const logFile = spec.output === 'terminal' ? undefined : spec.output.logFile;
      const details = logFile ? `\n${tail(logFile, 10)}\n    (full log: ${logFile})` : '';
      if (running.restarts.length >= MAX_RESTARTS) {
        running.gaveUp = true;
        this.log(`${spec.name} exited (${why}) ${MAX_RESTARTS} times in ${RESTART_WINDOW_MS / 60_000} minutes; giving up${details}`);
        this.onGiveUp(`${spec.name} keeps crashing`);
        return;
      }
      running.restarts.push(now);
      const delayMs = 500 * 2 ** (running.restarts.length - 1);
      this.log(`${spec.name} exited unexpectedly (${why}); restarting in ${delayMs} ms (${running.restarts.length}/${MAX_RESTARTS})${details}`);
      setTimeout(() => {
        if (this.stopping) return;
        running.proc = this.spawn(spec);
        this.watch(running);
        this.ready(running).then(
          () => this.log(`${spec.name} ${spec.readyPort === undefined ? 'restarted' : 'is running again'}`),
          (err: Error) => this.log(err.message),
        );
      }, delayMs);
    });
  }

  /** Stops components in reverse start order, each with its own signal and patience, except those named last. */
  async stopAll(lastNames: readonly string[] = []): Promise<void> {
    this.stopping = true;
    const order = [...this.services].reverse();
    const first = order.filter((s) => !lastNames.includes(s.spec.name));
    const last = order.filter((s) => lastNames.includes(s.spec.name));
    for (const s of [...first, ...last]) await this.stopOne(s);
  }

  private stopOne({ spec, proc }: Running): Promise<void> {
    if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log(`${spec.name} did not stop in ${spec.stopTimeoutMs / 1000} s; killing it`);
        proc.kill('SIGKILL');
      }, spec.stopTimeoutMs);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill(spec.stopSignal);
    });
  }

  /** Last resort when start-up itself fails: no component may outlive the command that started it. */
  killAll(): void {
    this.stopping = true;
    for (const s of this.services) s.proc.kill('SIGKILL');
  }
}
