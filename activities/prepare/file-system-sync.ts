import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import * as readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** Whether `sync -f` (syncfs) works on every drive's file system. */
export function canSyncFileSystems(drivePaths: string[]): boolean {
  if (process.platform !== 'linux') return false;
  return drivePaths.every((p) => spawnSync('sync', ['-f', p], { stdio: 'ignore' }).status === 0);
}

// Reads "<request id> <drive index>" lines and answers "<request id> <exit status> <sync's message>" once that
// drive's file system is synced; requests run at once, so drives on different disks sync in parallel.
const HELPER = `
i=0
for d in "$@"; do eval "drive_$i=\\$d"; i=$((i+1)); done
while read -r id n; do
  case $n in ''|*[!0-9]*) echo "$id 2 bad drive index"; continue ;; esac
  eval "d=\\$drive_$n"
  ( err=$(sync -f -- "$d" 2>&1); s=$?; printf '%s %s %s\\n' "$id" "$s" "$(printf %s "$err" | tr '\\n' ' ')" ) &
done
wait
`;

/**
 * Syncs drives' file systems (syncfs, through `sync -f`; Node has no binding for it) from one
 * helper shell started with the preparation. Spawning `sync` from Node itself would fork this
 * whole process (its copy buffers included) on every round, blocking the thread that feeds the
 * copy workers for tens of milliseconds each time; the small shell forks cheaply.
 */
export class FileSystemSyncer {
  private readonly helper: ChildProcessByStdio<Writable, Readable, null>;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void; drive: string }>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(private readonly drivePaths: readonly string[]) {
    this.helper = spawn('/bin/sh', ['-c', HELPER, 'sh', ...drivePaths], { stdio: ['pipe', 'pipe', 'inherit'] });
    readline.createInterface({ input: this.helper.stdout }).on('line', (line) => this.onAnswer(line));
    this.helper.on('error', (e) => this.fail(new Error(`cannot run the file-system sync helper (/bin/sh): ${e.message}`)));
    this.helper.on('exit', (code, signal) => this.fail(new Error(`the file-system sync helper exited (${signal ?? `code ${code}`})`)));
    this.helper.stdin.on('error', (e) => this.fail(new Error(`the file-system sync helper stopped reading: ${e.message}`)));
  }

  /** Resolves once the file system of drive `index` (an index into the constructor's paths) is synced. */
  sync(index: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const drive = this.drivePaths[index];
    if (drive === undefined) return Promise.reject(new RangeError(`no drive ${index}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, drive });
      this.helper.stdin.write(`${id} ${index}\n`);
    });
  }

  private onAnswer(line: string): void {
    const [id, status, ...message] = line.split(' ');
    const w = this.waiting.get(Number(id));
    if (!w) return;
    this.waiting.delete(Number(id));
    if (status === '0') w.resolve();
    else w.reject(new Error(`sync -f ${w.drive} failed (exit ${status}): ${message.join(' ').trim()}`));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }

  /** Stops the helper once it has answered what it was asked. */
  close(): void {
    this.failure ??= new Error('file-system sync helper closed');
    this.helper.stdin.end();
  }
}
