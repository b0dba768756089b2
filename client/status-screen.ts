import type { CliIo } from './importctl';

/** Where `status` prints: on a terminal a watched frame replaces the previous one; elsewhere only changes print. */
export class StatusScreen {
  private previous: string | undefined;
  private previousRows = 0;

  constructor(private readonly io: Pick<CliIo, 'stdout' | 'tty'>) {}

  show(text: string, watching: boolean): void {
    if (watching && text === this.previous) return;
    const tty = this.io.tty;
    if (watching && tty && this.previousRows > 0) {
      // Cursor up to the first row of the last frame, then clear to the end of the screen (ECMA-48 CPL + ED).
      this.io.stdout(`\x1b[${this.previousRows}F\x1b[0J`);
    } else if (this.previous !== undefined) this.io.stdout('\n');
    this.io.stdout(`${text}\n`);
    this.previous = text;
    this.previousRows = tty ? text.split('\n').reduce((n, line) => n + Math.max(1, Math.ceil(line.length / Math.max(tty.columns, 1))), 0) : 0;
  }
}

