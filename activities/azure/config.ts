import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';

/**
 * Configuration of the Azure clients (both APIs), from environment variables. One schema; each key comes from
 * the environment variable `AZURE_ENV_VARS` names:
 *
 *   AZURE_ENDPOINT             ARM endpoint (default https://management.azure.com)
 *   AZURE_SUBSCRIPTION_ID      required
 *   AZURE_CREDENTIAL           `default` (DefaultAzureCredential, real Azure) | `static-token` (emulator)
 *   AZURE_STATIC_TOKEN         token for `static-token` (default `emulator-token`)
 *   AZURE_CA_FILE              extra CA certificate (PEM) to trust, e.g. the emulator's self-signed CA
 *   AZURE_API_VERSION          Microsoft.ImportExport api-version, default 2021-01-01
 *   AZURE_DATABOX_API_VERSION  Microsoft.DataBox api-version: 2022-12-01 (the SDK's, default) or 2025-02-01
 *   AZURE_ALLOW_INSECURE_HTTP  `true` allows http:// endpoints (emulator only)
 */

const BOOL_TRUE = ['true', '1', 'yes'];
const BOOL_FALSE = ['false', '0', 'no', ''];

/** Data Box api-versions whose customer-disk schema this client is written against. */
export const DATABOX_API_VERSIONS = ['2022-12-01', '2025-02-01'] as const;

export const AzureCredentialKindSchema = z.enum(['default', 'static-token']);
export type AzureCredentialKind = z.infer<typeof AzureCredentialKindSchema>;

export const AzureConfigSchema = z
  .object({
    /** ARM endpoint origin, without trailing slash. */
    endpoint: z
      .url({ protocol: /^https?$/, message: 'expected an http(s) URL' })
      .default('https://management.azure.com')
      .transform((u) => u.replace(/\/+$/, '')),
    subscriptionId: z.string({ message: 'required' }).trim().min(1, 'required'),
    credential: AzureCredentialKindSchema.default('default'),
    /** Token used by the `static-token` credential. */
    staticToken: z.string().min(1).default('emulator-token'),
    /** Path of an extra CA certificate bundle (PEM) to trust in addition to the system CAs. */
    caFile: z.string().trim().min(1).optional(),
    /** Microsoft.ImportExport api-version. */
    apiVersion: z.string().regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, 'expected YYYY-MM-DD').default('2021-01-01'),
    databoxApiVersion: z.enum(DATABOX_API_VERSIONS, { message: `expected one of ${DATABOX_API_VERSIONS.join(', ')}` }).default('2022-12-01'),
    /** When false, only https:// endpoints are accepted. */
    allowInsecureHttp: z
      .union([
        z.boolean(),
        z
          .string()
          .trim()
          .toLowerCase()
          .refine((v) => BOOL_TRUE.includes(v) || BOOL_FALSE.includes(v), { message: 'expected true or false' })
          .transform((v) => BOOL_TRUE.includes(v)),
      ])
      .default(false),
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

/** The environment variable each config key comes from. */
export const AZURE_ENV_VARS = {
  endpoint: 'AZURE_ENDPOINT',
  subscriptionId: 'AZURE_SUBSCRIPTION_ID',
  credential: 'AZURE_CREDENTIAL',
  staticToken: 'AZURE_STATIC_TOKEN',
  caFile: 'AZURE_CA_FILE',
  apiVersion: 'AZURE_API_VERSION',
  databoxApiVersion: 'AZURE_DATABOX_API_VERSION',
  allowInsecureHttp: 'AZURE_ALLOW_INSECURE_HTTP',
} as const satisfies Record<keyof AzureConfig, string>;

export class AzureConfigError extends Error {
  override readonly name = 'AzureConfigError';
  readonly issues: ReadonlyArray<{ envVar: string; message: string }>;
  constructor(issues: ReadonlyArray<{ envVar: string; message: string }>) {
    super(`Invalid Azure configuration: ${issues.map((i) => `${i.envVar}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** Reads and validates the Azure configuration; errors name the offending environment variable. */
export function loadAzureConfig(env: Record<string, string | undefined> = process.env): AzureConfig {
  const input: Record<string, string> = {};
  for (const [key, envVar] of Object.entries(AZURE_ENV_VARS)) {
    const value = env[envVar];
    // Empty means unset (common in docker-compose and CI env files).
    if (value !== undefined && value.trim() !== '') input[key] = value;
  }
  const parsed = AzureConfigSchema.safeParse(input);
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
      throw new AzureConfigError([{ envVar: 'AZURE_CA_FILE', message: `cannot read ${parsed.data.caFile}: ${(err as Error).message}` }]);
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
  return new DefaultAzureCredential();
}
