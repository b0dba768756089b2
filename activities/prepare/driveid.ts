import { execFile } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import * as path from 'node:path';

export type ExecFn = (cmd: string, args: string[]) => Promise<string>;

const defaultExec: ExecFn = (cmd, args) =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000, encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });

export interface DriveIdDeps {
  exec?: ExecFn;
  readText?: (p: string) => Promise<string>;
}

/**
 * Reads the hardware serial number of the block device backing `drivePath` (Linux):
 * device from `findmnt` (fallback `df`), its parent disk via `lsblk -no PKNAME`, then
 * `/sys/block/<disk>/device/serial`, else `lsblk -dno SERIAL`. Returns the serial without
 * spaces, or throws an Error explaining what was tried.
 */
export async function readDriveSerial(drivePath: string, deps: DriveIdDeps = {}): Promise<string> {
  const exec = deps.exec ?? defaultExec;
  const readText = deps.readText ?? ((p: string) => readFile(p, 'utf8'));
  const tried: string[] = [];
  let device = '';
  try {
    device = (await exec('findmnt', ['-n', '-o', 'SOURCE', '--target', drivePath])).trim().split('\n')[0] ?? '';
  } catch {
    tried.push('findmnt failed');
  }
  if (!device.startsWith('/dev/')) {
    try {
      const out = (await exec('df', ['-P', drivePath])).trim().split('\n');
      device = out[1]?.split(/\s+/)[0] ?? '';
    } catch {
      tried.push('df failed');
    }
  }
  if (!device.startsWith('/dev/'))
    throw new Error(`no block device backs ${drivePath} (${device || 'unknown source'}${tried.length ? '; ' + tried.join('; ') : ''})`);
  let dev = device;
  try {
    dev = await realpath(device);
  } catch {
    /* keep as is */
  }
  let disk = path.basename(dev);
  try {
    const parent = (await exec('lsblk', ['-no', 'PKNAME', dev])).trim().split('\n')[0]?.trim();
    if (parent) disk = parent;
  } catch {
    tried.push('lsblk PKNAME failed');
  }
  let serial = '';
  try {
    serial = (await readText(`/sys/block/${disk}/device/serial`)).trim();
  } catch {
    tried.push(`/sys/block/${disk}/device/serial unreadable`);
  }
  if (!serial) {
    try {
      serial = (await exec('lsblk', ['-dno', 'SERIAL', `/dev/${disk}`])).trim();
    } catch {
      tried.push('lsblk SERIAL failed');
    }
  }
  serial = serial.replace(/\s+/g, '');
  if (!serial) throw new Error(`the serial number of ${device} (disk ${disk}) backing ${drivePath} cannot be read${tried.length ? ' (' + tried.join('; ') + ')' : ''}`);
  return serial;
}
