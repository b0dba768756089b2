import { parse as parseCsv } from 'csv-parse/sync';
import { PrepareInputError, PrepareInputErrors, type InputLocation } from './errors';

/** Column and key names compare without case, spaces, '_' or '-' (the forms WAImportExport's own files use). */
export function normKey(k: string): string {
  return k.replace(/[\s_-]/g, '').toLowerCase();
}

/** What each csv-parse error code means, in words that quote nothing from the file. */
const CSV_PARSE_PROBLEMS: Record<string, string> = {
  INVALID_OPENING_QUOTE: 'a quote (") inside an unquoted field; quote the whole field or remove the quote',
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed (a closing " is missing)',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote (") must be followed by a comma or the end of the line',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'the row has a different number of fields than the header',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'text after a closing quote (") must be separated by a comma',
  CSV_MAX_RECORD_SIZE: 'a row is too long',
  CSV_INVALID_ARGUMENT: 'the file could not be read as CSV',
};
const LOOKS_LIKE_COLUMN_NAME = /^[A-Za-z][A-Za-z _-]{0,39}$/;

export interface CsvRow {
  line: number;
  cells: string[];
}

export function readCsv<F extends string>(
  text: string,
  fileName: string,
  aliases: Record<string, F>,
  required: F[],
): { header: Map<F, number>; rows: CsvRow[] } {
  if (text.includes('\u0000')) throw new PrepareInputError({ file: fileName, row: 1, column: 1 }, 'is not a CSV text file (it contains NUL bytes)');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, { info: true, bom: true, skip_empty_lines: true, relax_column_count: true, trim: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (e) {
    // The parser's own message quotes the offending field, which may be a BitLocker key or a line of a file that is not a CSV.
    const ce = e as { code?: string; lines?: number; column?: number };
    throw new PrepareInputError({ file: fileName, row: ce.lines ?? 1, column: typeof ce.column === 'number' ? ce.column + 1 : 1 }, `malformed CSV: ${CSV_PARSE_PROBLEMS[ce.code ?? ''] ?? `the parser stopped here (${ce.code ?? 'unknown error'})`}`);
  }
  const first = records[0];
  if (!first) throw new PrepareInputError({ file: fileName, row: 1, column: 1 }, 'the file is empty (a header row is required)');
  const header = new Map<F, number>();
  const errors: PrepareInputError[] = [];
  first.record.forEach((h, i) => {
    const f = aliases[normKey(h)];
    const at = { file: fileName, row: first.info.lines, column: i + 1 };
    // Only a cell that looks like a column name is echoed: without a header row the first row holds data (keys, paths).
    if (f === undefined)
      errors.push(
        LOOKS_LIKE_COLUMN_NAME.test(h)
          ? new PrepareInputError({ ...at, field: h }, `unknown column "${h}" (known columns: ${[...new Set(Object.values(aliases))].join(', ')})`)
          : new PrepareInputError(at, 'the first row is not a header row (its cells are not column names; value not shown): add the header row'),
      );
    else if (header.has(f)) errors.push(new PrepareInputError({ ...at, field: h }, `column "${h}" appears twice`));
    else header.set(f, i);
  });
  if (errors.length === 0)
    for (const r of required)
      if (!header.has(r)) errors.push(new PrepareInputError({ file: fileName, row: first.info.lines, column: first.record.length + 1, field: r }, `required column "${r}" is missing from the header`));
  const rows: CsvRow[] = [];
  for (const rec of records.slice(1)) {
    if (rec.record.length !== first.record.length)
      errors.push(
        new PrepareInputError(
          { file: fileName, row: rec.info.lines, column: Math.min(rec.record.length, first.record.length) + 1 },
          `row has ${rec.record.length} fields but the header has ${first.record.length}`,
        ),
      );
    else rows.push({ line: rec.info.lines, cells: rec.record });
  }
  if (errors.length) throw new PrepareInputErrors(errors);
  if (rows.length === 0) throw new PrepareInputError({ file: fileName, row: 2, column: 1 }, 'no data rows');
  return { header, rows };
}

export function rowValues<F extends string>(header: Map<F, number>, row: CsvRow): Partial<Record<F, string>> {
  const v: Partial<Record<F, string>> = {};
  for (const [f, i] of header) v[f] = row.cells[i] ?? '';
  return v;
}

/** Locates a field of one row: the file, the row's line and the field's column (when the header has it). */
export function cellLocator<F extends string>(fileName: string, header: Map<F, number>, row: CsvRow): (field: string) => InputLocation {
  return (field) => {
    const col = header.get(field as F);
    return { file: fileName, row: row.line, column: col === undefined ? undefined : col + 1, field };
  };
}
