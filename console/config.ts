import * as fs from 'node:fs';
import { z } from 'zod';
import { formatProblems, problemsFromZodError } from '../common/problems';
import { PublicUrlSchema } from '../security/config';
import { SCRYPT_HASH_PATTERN } from './passwords';

/** Console configuration: environment and users file, validated with zod; errors name the variable or file to fix. */

export const ROLES = ['clerk', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export const ConsoleUserSchema = z
  .object({
    username: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'user names use letters, digits, ".", "_", "@" and "-" (1-64 chars)'),
    role: z.enum(ROLES),
    passwordHash: z.string().regex(SCRYPT_HASH_PATTERN, 'a scrypt hash from `npx tsx console/hash-password.ts`'),
    displayName: z.string().min(1).max(100).optional(),
  })
  .strict();
export type ConsoleUser = z.infer<typeof ConsoleUserSchema>;

export const UsersFileSchema = z
  .object({ users: z.array(ConsoleUserSchema).min(1, 'at least one user') })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.users.forEach((u, i) => {
      if (seen.has(u.username)) ctx.addIssue({ code: 'custom', path: ['users', i, 'username'], message: `duplicate user name ${u.username}` });
      seen.add(u.username);
    });
  });
export type UsersFile = z.infer<typeof UsersFileSchema>;

export class ConsoleConfigError extends Error {
  override name = 'ConsoleConfigError';
}

const issues = (error: z.ZodError): string => formatProblems(problemsFromZodError(error)).join('; ');

export function parseUsers(value: unknown, source = 'users'): ConsoleUser[] {
  const parsed = UsersFileSchema.safeParse(value);
  if (!parsed.success) throw new ConsoleConfigError(`${source}: ${issues(parsed.error)}`);
  return parsed.data.users;
}

export function loadUsersFile(file: string): ConsoleUser[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConsoleConfigError(`CONSOLE_USERS_FILE ${file} cannot be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConsoleConfigError(`CONSOLE_USERS_FILE ${file} is not JSON: ${(err as Error).message}`);
  }
  return parseUsers(json, `CONSOLE_USERS_FILE ${file}`);
}

const HOURS = 3600_000;

export const ConsoleEnvSchema = z.object({
  CONSOLE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  CONSOLE_HOST: z.string().min(1).default('127.0.0.1'),
  CONSOLE_USERS_FILE: z.string({ error: 'CONSOLE_USERS_FILE is required (a JSON file of users; see console/README.md)' }).min(1, 'CONSOLE_USERS_FILE is required'),
  /** Session lifetime in hours (default 8). */
  CONSOLE_SESSION_HOURS: z.coerce.number().positive().max(24 * 30).default(8),
  /** How browsers reach the console, e.g. https://console.example.com behind a TLS proxy; https makes cookies Secure. */
  CONSOLE_PUBLIC_URL: PublicUrlSchema.optional(),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TASK_QUEUE: z.string().min(1).default('import-jobs'),
});

export interface ConsoleConfig {
  port: number;
  host: string;
  usersFile: string;
  sessionTtlMs: number;
  publicUrl?: string;
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
}

export function loadConsoleConfig(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const parsed = ConsoleEnvSchema.safeParse(env);
  if (!parsed.success) throw new ConsoleConfigError(`console configuration: ${issues(parsed.error)}`);
  const e = parsed.data;
  return {
    port: e.CONSOLE_PORT,
    host: e.CONSOLE_HOST,
    usersFile: e.CONSOLE_USERS_FILE,
    sessionTtlMs: e.CONSOLE_SESSION_HOURS * HOURS,
    ...(e.CONSOLE_PUBLIC_URL !== undefined ? { publicUrl: e.CONSOLE_PUBLIC_URL } : {}),
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TASK_QUEUE,
  };
}
