/**
 * Errors of the prepare step. Input errors always name the file (and where possible the row,
 * column and field) so an operator can fix the CSV / spec without guessing.
 */

export interface InputLocation {
  /** The input file (dataset.csv, driveset.csv, job spec) or source path the error is about. */
  file: string;
  /** 1-based row (CSV: line of the record, header = 1; YAML/JSON: line; spec arrays: item index + 1). */
  row?: number;
  /** 1-based column number (CSV) or column within the line (YAML). */
  column?: number;
  /** Column header / field name, e.g. `DstBlobPathOrPrefix`. */
  field?: string;
}

function describe(loc: InputLocation): string {
  const parts = [loc.file];
  if (loc.row !== undefined) parts.push(`row ${loc.row}`);
  if (loc.column !== undefined) parts.push(`column ${loc.column}`);
  return parts.join(', ') + (loc.field !== undefined ? ` (${loc.field})` : '');
}

/** Invalid input: bad CSV/spec, missing or unreadable source, invalid names. Never retryable. */
export class PrepareInputError extends Error {
  readonly file: string;
  readonly row?: number;
  readonly column?: number;
  readonly field?: string;
  /** The bare problem, without the location prefix. */
  readonly problem: string;

  constructor(loc: InputLocation, problem: string) {
    super(`${describe(loc)}: ${problem}`);
    this.name = 'PrepareInputError';
    this.file = loc.file;
    if (loc.row !== undefined) this.row = loc.row;
    if (loc.column !== undefined) this.column = loc.column;
    if (loc.field !== undefined) this.field = loc.field;
    this.problem = problem;
  }
}

/** Several input errors found in one validation pass (the message lists all of them). */
export class PrepareInputErrors extends PrepareInputError {
  readonly errors: PrepareInputError[];
  constructor(errors: PrepareInputError[]) {
    const first = errors[0];
    if (!first) throw new Error('PrepareInputErrors needs at least one error');
    super(
      { file: first.file, row: first.row, column: first.column, field: first.field },
      errors.length === 1 ? first.problem : `${first.problem} (and ${errors.length - 1} more input errors)`,
    );
    this.message =
      errors.length === 1 ? first.message : `${errors.length} input errors:\n` + errors.map((e) => `  - ${e.message}`).join('\n');
    this.errors = errors;
  }
}

/** The data set does not fit on the drives; nothing was written. */
export class InsufficientCapacityError extends Error {
  constructor(
    message: string,
    /** Bytes missing (total, or for the file that fits nowhere). */
    readonly shortfallBytes: number,
  ) {
    super(message);
    this.name = 'InsufficientCapacityError';
  }
}

/** A source file could not be read during the copy (vanished, shrank, I/O error). */
export class SourceReadError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'SourceReadError';
  }
}

/** The journal of this preparation does not match the request (different inputs under the same id). */
export class JournalMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalMismatchError';
  }
}

/** Thrown when the preparation is cancelled via the AbortSignal. */
export class PrepareCancelledError extends Error {
  constructor(message = 'preparation cancelled') {
    super(message);
    this.name = 'PrepareCancelledError';
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(2)} ${units[i]} (${n} bytes)`;
}
