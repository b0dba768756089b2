/**
 * Provisions the Temporal servers (see scripts/lib/temporal-binaries.ts). Runs before `npm start` and `npm test`.
 * Usage: tsx scripts/provision-temporal.ts [--dev-server]   (--dev-server: only the CLI, which `npm start` needs)
 */
import { ProvisioningError, provisionTemporalCli, provisionTestServer } from './lib/temporal-binaries';

const log = (line: string): void => console.log(`[provision] ${line}`);

try {
  provisionTemporalCli(log);
  if (!process.argv.includes('--dev-server')) provisionTestServer(log);
} catch (err) {
  if (err instanceof ProvisioningError) {
    console.error(`[provision] ${err.message}`);
    process.exit(1);
  }
  throw err;
}
