/**
 * Checks of a spec's prepare section against the preparation station's file system, run where importctl runs
 * (the station, in the usual setup): sources exist and are readable, drives exist, are writable and are empty or
 * resumable from the job's journal. Read-only: the prepare step's own inventory, without planning or writing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PrepareInputError, PrepareInputErrors } from '../activities/prepare/errors';
import { MANIFEST_FILE_NAME } from '../activities/prepare/manifest';
import { inventory } from '../activities/prepare/inventory';
import type { JobSpec } from '../common/job-spec';
import type { Problem } from '../common/problems';
import { scrubKeys } from './spec-file';

/** The journal keeps each preparation under `<journalDir>/<preparationId>/plan.json`; the workflow uses the job name. */
function hasJournal(journalDir: string, jobName: string): boolean {
  return fs.existsSync(path.join(journalDir, jobName, 'plan.json'));
}

export function stationProblems(spec: JobSpec): Problem[] {
  if (!('prepare' in spec.drives)) return [];
  const p = spec.drives.prepare;
  // A relative journal directory is the station worker's own (resolved against its working directory, not ours).
  const journalDir = path.isAbsolute(p.journalDir) ? p.journalDir : undefined;
  const problems: Problem[] = [];
  try {
    inventory({ preparationId: spec.jobName, dataset: p.dataset, drives: p.drives, mode: p.mode, journalDir: journalDir ?? path.resolve(p.journalDir) });
  } catch (err) {
    if (!(err instanceof PrepareInputError)) throw err;
    const all = err instanceof PrepareInputErrors ? err.errors : [err];
    problems.push(...all.map((e) => ({ field: 'drives.prepare', message: scrubKeys(e.message) })));
  }
  const resumable = journalDir !== undefined && hasJournal(journalDir, spec.jobName);
  p.drives.forEach((d, i) => {
    if (resumable || !fs.existsSync(d.path)) return;
    const entries = safeReaddir(d.path);
    if (entries.includes(MANIFEST_FILE_NAME)) {
      problems.push({ field: `drives.prepare.drives.${i}.path`, message: `${d.path} already holds a prepared drive (${MANIFEST_FILE_NAME}) and there is no journal of job ${spec.jobName} to resume from` });
    } else if (p.mode === 'copy' && entries.some((e) => !IGNORED_ON_EMPTY_DRIVE.has(e))) {
      problems.push({ field: `drives.prepare.drives.${i}.path`, message: `${d.path} is not empty (${entries.length} entries) and there is no journal of job ${spec.jobName} to resume from` });
    }
  });
  return problems;
}

/** What a freshly formatted volume holds before anything is copied onto it. */
const IGNORED_ON_EMPTY_DRIVE = new Set(['System Volume Information', '$RECYCLE.BIN', 'lost+found', '.Trashes', '.fseventsd', '.Spotlight-V100']);

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
