/**
 * Starts the Web UI gateway (the dev server's Web UI and the codec endpoints under one origin):
 *
 *   npx tsx codec-server/web-ui-main.ts
 *
 * Config (env): WEB_UI_HOST (default 127.0.0.1), WEB_UI_PORT (default 8233: where people open the UI),
 * WEB_UI_UPSTREAM (default http://127.0.0.1:8234: the dev server's own UI, start-dev `--ui-port 8234`), plus the
 * security/ variables for the payload keys and the codec token (CODEC_SERVER_TOKEN | CODEC_SERVER_TOKEN_FILE,
 * CODEC_SERVER_PUBLIC_URL). The dev server must be started with `--ui-codec-endpoint http://<WEB_UI_HOST>:<WEB_UI_PORT>/codec`.
 */
import { z } from 'zod';
import { formatProblems, problemsFromZodError } from '../common/problems';
import { loadSecurityConfig, SecurityConfigError } from '../security/config';
import { EncryptionCodec } from '../security/payload-codec';
import { startWebUiGateway } from './web-ui-gateway';
import { closeOnSignals } from '../web/shutdown';

export const WebUiGatewayEnvSchema = z.object({
  WEB_UI_HOST: z.string().min(1).default('127.0.0.1'),
  WEB_UI_PORT: z.coerce.number().int().min(0).max(65535).default(8233),
  WEB_UI_UPSTREAM: z.url({ protocol: /^http$/, error: 'the dev server UI as http://127.0.0.1:<port>' }).default('http://127.0.0.1:8234'),
});

async function main(): Promise<void> {
  const parsed = WebUiGatewayEnvSchema.safeParse(process.env);
  if (!parsed.success) throw new SecurityConfigError(formatProblems(problemsFromZodError(parsed.error)).join('; '));
  const env = parsed.data;
  const security = loadSecurityConfig();
  const token = security.codecServer.token;
  if (token === undefined) throw new SecurityConfigError('the Web UI gateway needs CODEC_SERVER_TOKEN or CODEC_SERVER_TOKEN_FILE');
  const gateway = await startWebUiGateway({
    codec: new EncryptionCodec(security.payloadKeys),
    token,
    host: env.WEB_UI_HOST,
    port: env.WEB_UI_PORT,
    uiUpstream: env.WEB_UI_UPSTREAM,
    ...(security.codecServer.publicUrl !== undefined ? { publicUrl: security.codecServer.publicUrl } : {}),
    onError: (m) => console.error(`[web-ui] ${m}`),
  });
  console.log(`Web UI ${gateway.url} (UI from ${env.WEB_UI_UPSTREAM}; codec endpoint ${gateway.codecEndpoint}; sign in at ${gateway.codecEndpoint}/login)`);
  closeOnSignals(() => gateway.close());
}

main().catch((e: unknown) => {
  console.error(e instanceof SecurityConfigError ? `Configuration error: ${e.message}` : e);
  process.exit(1);
});
