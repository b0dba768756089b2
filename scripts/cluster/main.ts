/**
 * Test/dev only: runs the production-shaped cluster (PostgreSQL + Temporal server built from its Go module) on
 * loopback until Ctrl-C, and prints how to point workers at it.
 *
 *   npx tsx scripts/cluster/main.ts [--keep]      # --keep: leave the data dir behind
 */
import { LocalCluster } from './cluster';
import { closeOnSignals } from '../../web/shutdown';

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const cluster = await new LocalCluster({ keepDir: keep }).start();
  console.log(`Temporal frontend:   ${cluster.address} (namespace ${cluster.namespace})`);
  console.log(`Server metrics:      http://127.0.0.1:${cluster.ports.serverMetrics}/metrics`);
  console.log(`PostgreSQL:          127.0.0.1:${cluster.ports.postgres} (user ${cluster.postgres?.user})`);
  console.log(`Logs / data:         ${cluster.dir}`);
  console.log(`Workers:             TEMPORAL_ADDRESS=${cluster.address} npm run worker`);
  closeOnSignals(() => cluster.stop());
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
