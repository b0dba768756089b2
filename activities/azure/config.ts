import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AccessToken, TokenCredential } from '@azure/core-auth';

/**
 * Configuration of the Import/Export ARM client, from environment variables:
 *
 *   AZURE_ENDPOINT            ARM endpoint (default https://management.azure.com)
 *   AZURE_SUBSCRIPTION_ID     required
 *   AZURE_CREDENTIAL          `default` (DefaultAzureCredential, real Azure) | `static-token` (emulator)
 *   AZURE_STATIC_TOKEN        token for `static-token` (default `emulator-token`)
 *   AZURE_CA_FILE             extra CA certificate (PEM) to trust, e.g. the emulator's self-signed CA
 *   AZURE_API_VERSION         default 2021-01-01
 *   AZURE_ALLOW_INSECURE_HTTP `true` allows http:// endpoints (emulator only)
 */

const BOOL_TRUE = ['true', '1', 'yes'];
const BOOL_FALSE = ['false', '0', 'no', ''];

const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => BOOL_TRUE.includes(v) || BOOL_FALSE.includes(v), { message: 'expected true or false' })
  .transform((v) => BOOL_TRUE.includes(v));

export const AzureCredentialKindSchema = z.enum(['default', 'static-token']);
export type AzureCredentialKind = z.infer<typeof AzureCredentialKindSchema>;

export const AzureConfigSchema = z
  .object({
    /** ARM endpoint origin, without trailing slash. */
    endpoint: z
      .url({ protocol: /^https?$/, message: 'expected an http(s) URL' })
      .transform((u) => u.replace(/\/+$/, '')),
    subscriptionId: z.string().trim().min(1, 'required'),
    credential: AzureCredentialKindSchema,
    /** Token used by the `static-token` credential. */
    staticToken: z.string().min(1),
    /** Path of an extra CA certificate bundle (PEM) to trust in addition to the system CAs. */
    caFile: z.string().min(1).optional(),
    apiVersion: z.string().regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, 'expected YYYY-MM-DD'),
    /** When false, only https:// endpoints are accepted. */
    allowInsecureHttp: z.boolean(),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.endpoint.toLowerCase().startsWith('http://') && !cfg.allowInsecureHttp) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: 'http:// endpoints require allowInsecureHttp (AZURE_ALLOW_INSECURE_HTTP=true)',
      });
    }
  });
export type AzureConfig = z.infer<typeof AzureConfigSchema>;
export type AzureConfigInput = z.input<typeof AzureConfigSchema>;

/** Maps config keys to the environment variables they come from (for error messages). */
export const AZURE_ENV_VARS: Record<keyof AzureConfig, string> = {
  endpoint: 'AZURE_ENDPOINT',
  subscriptionId: 'AZURE_SUBSCRIPTION_ID',
  credential: 'AZURE_CREDENTIAL',
  staticToken: 'AZURE_STATIC_TOKEN',
  caFile: 'AZURE_CA_FILE',
  apiVersion: 'AZURE_API_VERSION',
  allowInsecureHttp: 'AZURE_ALLOW_INSECURE_HTTP',
};

export class AzureConfigError extends Error {
  readonly issues: ReadonlyArray<{ envVar: string; message: string }>;
  constructor(issues: ReadonlyArray<{ envVar: string; message: string }>) {
    super(`Invalid Azure configuration: ${issues.map((i) => `${i.envVar}: ${i.message}`).join('; ')}`);
    this.name = 'AzureConfigError';
    this.issues = issues;
  }
}

const EnvSchema = z.object({
  AZURE_ENDPOINT: z.string().trim().min(1).default('https://management.azure.com'),
  AZURE_SUBSCRIPTION_ID: z.string({ message: 'required' }).trim().min(1, 'required'),
  AZURE_CREDENTIAL: z
    .string()
    .trim()
    .default('default')
    .pipe(z.enum(['default', 'static-token'], { message: "expected 'default' or 'static-token'" })),
  AZURE_STATIC_TOKEN: z.string().min(1).default('emulator-token'),
  AZURE_CA_FILE: z.string().trim().min(1).optional(),
  AZURE_API_VERSION: z.string().trim().min(1).default('2021-01-01'),
  AZURE_ALLOW_INSECURE_HTTP: envBoolean.default(false),
});

/** Reads and validates the Azure client configuration; errors name the offending env var. */
export function loadAzureConfig(env: Record<string, string | undefined> = process.env): AzureConfig {
  // Treat empty strings as unset (common in docker-compose / CI env files).
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') cleaned[key] = v;
  }
  const envParsed = EnvSchema.safeParse(cleaned);
  if (!envParsed.success) {
    throw new AzureConfigError(
      envParsed.error.issues.map((i) => ({ envVar: String(i.path[0] ?? 'AZURE_*'), message: i.message })),
    );
  }
  const e = envParsed.data;
  const parsed = AzureConfigSchema.safeParse({
    endpoint: e.AZURE_ENDPOINT,
    subscriptionId: e.AZURE_SUBSCRIPTION_ID,
    credential: e.AZURE_CREDENTIAL,
    staticToken: e.AZURE_STATIC_TOKEN,
    ...(e.AZURE_CA_FILE === undefined ? {} : { caFile: e.AZURE_CA_FILE }),
    apiVersion: e.AZURE_API_VERSION,
    allowInsecureHttp: e.AZURE_ALLOW_INSECURE_HTTP,
  } satisfies AzureConfigInput);
  if (!parsed.success) {
    throw new AzureConfigError(
      parsed.error.issues.map((i) => {
        const key = i.path[0];
        const envVar = typeof key === 'string' && key in AZURE_ENV_VARS ? AZURE_ENV_VARS[key as keyof AzureConfig] : 'AZURE_*';
        return { envVar, message: i.message };
      }),
    );
  }
  if (parsed.data.caFile !== undefined) {
    try {
      readFileSync(parsed.data.caFile);
    } catch (err) {
      throw new AzureConfigError([
        { envVar: 'AZURE_CA_FILE', message: `cannot read ${parsed.data.caFile}: ${(err as Error).message}` },
      ]);
    }
  }
  return parsed.data;
}

/** A fixed-token credential for the emulator (never use against real Azure). */
export class StaticTokenCredential implements TokenCredential {
  readonly #token: string;
  constructor(token: string) {
    this.#token = token;
  }
  async getToken(): Promise<AccessToken> {
    return { token: this.#token, expiresOnTimestamp: Date.now() + 60 * 60 * 1000 };
  }
  /** Keeps the token out of logs/inspection. */
  toJSON(): Record<string, string> {
    return { kind: 'StaticTokenCredential' };
  }
}

/** Builds the credential selected by AZURE_CREDENTIAL. */
export function createCredential(config: AzureConfig): TokenCredential {
  if (config.credential === 'static-token') {
    return new StaticTokenCredential(config.staticToken);
  }
  // Loaded lazily: @azure/identity pulls in MSAL, which the emulator path does not need.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const identity = require('@azure/identity') as typeof import('@azure/identity');
  return new identity.DefaultAzureCredential();
}
