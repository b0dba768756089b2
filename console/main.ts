/**
 * Standalone console: `npx tsx console/main.ts` (env: CONSOLE_USERS_FILE, CONSOLE_PORT, CONSOLE_HOST,
 * CONSOLE_SESSION_HOURS, CONSOLE_PUBLIC_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE and the security/
 * variables for the payload keys and the secret store). Stops on SIGINT/SIGTERM.
 */
import { Client, Connection } from '@temporalio/client';
import { loadSecurityConfig } from '../security/config';
import { dataConverterFor } from '../security/payload-codec';
import { createSecretStore } from '../security/secret-store';
import { loadConsoleConfig, loadUsersFile } from './config';
import { startConsole } from './server';
import { closeOnSignals } from '../web/shutdown';

async function main(): Promise<void> {
  const config = loadConsoleConfig();
  const users = loadUsersFile(config.usersFile);
  const security = loadSecurityConfig();
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection, namespace: config.temporalNamespace, dataConverter: dataConverterFor(security) });
  const running = await startConsole({
    client,
    taskQueue: config.taskQueue,
    users,
    port: config.port,
    host: config.host,
    sessionTtlMs: config.sessionTtlMs,
    ...(config.publicUrl !== undefined ? { publicUrl: config.publicUrl } : {}),
    secrets: { store: createSecretStore(security), kind: security.secretStore.kind },
  });
  console.log(`[console] ${running.url} (${users.length} user(s); Temporal ${config.temporalAddress}, namespace ${config.temporalNamespace}, task queue ${config.taskQueue})`);
  closeOnSignals(async () => {
    await running.close();
    await connection.close();
  });
}

main().catch((err) => {
  console.error(`[console] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
