/**
 * Test environments on real Temporal servers, provisioned by scripts/provision-temporal.ts (run by `npm test`'s pretest):
 *  - createDevServerEnv: the Temporal CLI dev server (a fresh in-memory server per call), or an existing server
 *    when TEMPORAL_ADDRESS is set (e.g. one started by .ci/run or docker-compose);
 *  - createTimeSkippingEnv: Temporal's Java time-skipping test server, so multi-day timers finish in seconds.
 */
import { Runtime, DefaultLogger, type LogLevel } from '@temporalio/worker';
import { TestWorkflowEnvironment, type DevServerConfig } from '@temporalio/testing';
import type { DataConverter } from '@temporalio/common';
import { DEV_SERVER_DYNAMIC_CONFIG_ARGS, findTemporalCli, findTestServer } from '../../scripts/lib/temporal-binaries';

let runtimeInstalled = false;
/** Keeps test output readable: only warnings and errors from the SDK's core. */
export function installQuietRuntime(level: LogLevel = 'WARN'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger(level) });
}

function requireBinary(found: string | undefined, what: string): string {
  if (!found) throw new Error(`${what} is not provisioned: run \`npm run provision\` (npm test does this in pretest).`);
  return found;
}

export interface DevServerEnvOptions {
  namespace?: string;
  searchAttributes?: DevServerConfig['searchAttributes'];
  dataConverter?: DataConverter;
}

export async function createDevServerEnv(options: DevServerEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const address = process.env.TEMPORAL_ADDRESS;
  if (address) {
    return TestWorkflowEnvironment.createFromExistingServer({
      address,
      namespace: options.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default',
      client: { dataConverter: options.dataConverter },
    });
  }
  const cli = requireBinary(findTemporalCli(), 'The Temporal CLI');
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      namespace: options.namespace ?? 'default',
      searchAttributes: options.searchAttributes,
      extraArgs: DEV_SERVER_DYNAMIC_CONFIG_ARGS,
    },
    client: { dataConverter: options.dataConverter },
  });
}

export async function createTimeSkippingEnv(options: { dataConverter?: DataConverter } = {}): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const server = requireBinary(findTestServer(), "Temporal's time-skipping test server");
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: server } },
    client: { dataConverter: options.dataConverter },
  });
}
