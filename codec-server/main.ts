/**
 * Starts the codec server for the Temporal Web UI / CLI.
 *
 *   npx tsx codec-server/main.ts
 *
 * Config (env, see security/config.ts): PAYLOAD_KEYS | PAYLOAD_KEY_FILE, PAYLOAD_CURRENT_KEY_ID, CODEC_SERVER_HOST
 * (default 127.0.0.1), CODEC_SERVER_PORT (default 8888), CODEC_SERVER_TOKEN | CODEC_SERVER_TOKEN_FILE (local runs:
 * created once at data/keys/codec-server-token), CODEC_CORS_ORIGINS, CODEC_SERVER_PUBLIC_URL (https → Secure cookies).
 */
import * as fs from 'node:fs';
import { ensureLocalTokenFile, loadSecurityConfig, SecurityConfigError } from '../security/config';
import { EncryptionCodec } from '../security/payload-codec';
import { startCodecServer } from './server';
import { closeOnSignals } from '../web/shutdown';

async function main(): Promise<void> {
  const config = loadSecurityConfig();
  let token = config.codecServer.token;
  if (token === undefined) {
    if (config.secretStore.kind === 'keyvault') {
      throw new SecurityConfigError('the codec server needs CODEC_SERVER_TOKEN or CODEC_SERVER_TOKEN_FILE');
    }
    // The explicit set-up step of a local run: the one place this process writes a file.
    const { path: tokenFile, created } = ensureLocalTokenFile();
    token = fs.readFileSync(tokenFile, 'utf8').trim();
    console.log(`${created ? 'Generated' : 'Using'} codec server token file ${tokenFile} (mode 0600)`);
  }
  const { host, port, corsOrigins, publicUrl } = config.codecServer;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    console.warn(`[codec-server] listening on ${host}: plain HTTP; put TLS and an authenticating proxy in front of it`);
  }
  const server = await startCodecServer({
    codec: new EncryptionCodec(config.payloadKeys),
    token,
    host,
    port,
    corsOrigins,
    ...(publicUrl !== undefined ? { publicUrl } : {}),
    onError: (m) => console.error(`[codec-server] ${m}`),
  });
  console.log(`Codec server listening on ${server.url}`);
  console.log(`  key ids: ${Object.keys(config.payloadKeys.keys).join(', ')} (current ${config.payloadKeys.currentKeyId})`);
  console.log(`  CORS origins: ${corsOrigins.join(', ')}`);
  console.log(`  Web UI: sign in at ${publicUrl ?? server.url}/login, then see security/README.md`);
  console.log(`  CLI: temporal workflow show --codec-endpoint ${server.url} --codec-auth "Bearer $(cat <token file>)" …`);

  closeOnSignals(() => server.close(), (signal) => console.log(`${signal}: closing codec server`));
}

main().catch((e: unknown) => {
  console.error(e instanceof SecurityConfigError ? `Configuration error: ${e.message}` : e);
  process.exit(1);
});
