/**
 * A mutual-exclusion lock for async workflow handlers, as samples-typescript's safe-message-handlers does with
 * `async-mutex`. That package is not a dependency here, and the workflow needs only `runExclusive`, so this is a
 * promise chain: deterministic (no timers, no I/O) and safe in the workflow sandbox.
 */
export class Lock {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier holder has finished (whether it succeeded or failed). */
  runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
