/**
 * Closes a server on SIGINT or SIGTERM, once, then exits: 0 when it closed cleanly, 1 (with the error) when not.
 * Small enough that a library (close-with-grace and the like) would add more than it saves.
 */
export function closeOnSignals(close: () => Promise<void>, announce?: (signal: NodeJS.Signals) => void): void {
  let closing = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    announce?.(signal);
    close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
