/** What a failed copy or drive write means to the operator: which file or drive, whether retrying can help. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InsufficientCapacityError, SourceReadError } from './errors';
import type { Plan, PlannedDrive, PlannedFile } from './plan';
import { CopyJobError } from './pool';

/** Where a planned file goes on its drive. */
export function destPath(plan: Plan, f: PlannedFile): string {
  const d = plan.drives[f.drive];
  if (!d) throw new Error(`plan: drive ${f.drive} missing`);
  return path.join(d.path, ...f.rel.split('/'));
}

export function driveWriteError(e: unknown, d: PlannedDrive, what: string, bytes: number): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const msg = (e as Error).message;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new InsufficientCapacityError(`drive ${d.path} (DriveId ${d.driveId}) is full: ${what} failed: ${msg}`, bytes);
  return new Error(`drive ${d.path} (DriveId ${d.driveId}): ${what} failed: ${msg}`);
}

export function mapJobError(e: unknown, plan: Plan, f: PlannedFile): Error {
  if (e instanceof CopyJobError) {
    if (e.side === 'source') {
      const permanent = ['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ESHRUNK', 'ECHANGED', 'ENOTDIR'].includes(e.code ?? '');
      if (e.code === 'ECHANGED' || e.code === 'ESHRUNK') {
        // The drive copy of a changing file would match neither its old nor its new content: never leave it looking valid.
        const dst = destPath(plan, f);
        if (plan.mode === 'copy' && dst !== f.src) fs.rmSync(dst, { force: true });
        return new SourceReadError(
          `source ${f.src} changed while the preparation was copying it (${e.message}); its copy on the drive was removed. Stop whatever writes to the data set, then prepare again`,
          f.src,
          false,
        );
      }
      return new SourceReadError(`cannot read source ${f.src}: ${e.message}`, f.src, !permanent);
    }
    const d = plan.drives[f.drive];
    if (d) return driveWriteError(Object.assign(new Error(e.message), { code: e.code }), d, `writing ${f.rel}`, f.size);
  }
  return e instanceof Error ? e : new Error(String(e));
}
