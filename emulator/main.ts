import { loadEmulatorEnv } from './config';
import { startEmulator } from './server';

/** `npm run emulator`: the Azure Import/Export and Data Box ARM emulator, standalone. */
async function main(): Promise<void> {
  const env = loadEmulatorEnv();
  const emulator = await startEmulator({
    host: env.EMULATOR_HOST,
    httpPort: env.EMULATOR_HTTP_PORT,
    httpsPort: env.EMULATOR_HTTPS_PORT,
    dataDir: env.EMULATOR_DATA_DIR,
    ...(env.EMULATOR_LOCATIONS_FILE ? { locationsFile: env.EMULATOR_LOCATIONS_FILE } : {}),
    ...(env.EMULATOR_REGIONS_FILE ? { regionsFile: env.EMULATOR_REGIONS_FILE } : {}),
    cancelWindow: env.EMULATOR_CANCEL_WINDOW,
    logger: (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  console.log('Azure Import/Export emulator');
  console.log('  Microsoft.ImportExport  api-versions 2021-01-01, 2020-08-01, 2016-11-01');
  console.log('  Microsoft.DataBox       api-versions 2025-02-01, 2022-12-01, 2025-07-01');
  console.log(`  HTTP:     ${emulator.httpUrl}`);
  if (emulator.httpsUrl) console.log(`  HTTPS:    ${emulator.httpsUrl}`);
  if (emulator.caCertPath) console.log(`  CA cert:  ${emulator.caCertPath}   (trust it: NODE_EXTRA_CA_CERTS / AZURE_CA_FILE)`);
  console.log(`  data dir: ${emulator.dataDir}`);
  console.log(`  control:  ${emulator.httpUrl}/_emulator/  (not part of Azure)`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    emulator.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
