import { z } from 'zod';
import { JOB_STATES } from './store';

const port = (def: number) =>
  z.coerce.number().int().min(0, 'must be a port number (0-65535)').max(65535, 'must be a port number (0-65535)').default(def);

/** Standalone configuration, from the environment. */
export const EmulatorEnvSchema = z.object({
  EMULATOR_HOST: z.string().min(1).default('127.0.0.1'),
  EMULATOR_HTTP_PORT: port(10880),
  /** A port, or `off`/`disabled`/`none` to serve HTTP only. */
  EMULATOR_HTTPS_PORT: z
    .string()
    .default('10843')
    .transform((v, ctx) => {
      if (/^(off|disabled|none)$/i.test(v.trim())) return null;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        ctx.addIssue({ code: 'custom', message: "must be a port number (0-65535) or 'off'" });
        return z.NEVER;
      }
      return n;
    }),
  EMULATOR_DATA_DIR: z.string().min(1).default('data/emulator'),
  EMULATOR_LOCATIONS_FILE: z.string().min(1).optional(),
  /** The Data Box regions catalogue (datacenter addresses, sku availability). */
  EMULATOR_REGIONS_FILE: z.string().min(1).optional(),
  /** Comma-separated job states in which cancellation is accepted. */
  EMULATOR_CANCEL_WINDOW: z
    .string()
    .default('Creating')
    .transform((v, ctx) => {
      const states = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const bad = states.filter((s) => !JOB_STATES.some((j) => j.toLowerCase() === s.toLowerCase()));
      if (bad.length > 0 || states.length === 0) {
        ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of job states (${JOB_STATES.join(', ')}); bad: ${bad.join(', ') || '(empty)'}` });
        return z.NEVER;
      }
      return states;
    }),
});
export type EmulatorEnv = z.infer<typeof EmulatorEnvSchema>;

export function loadEmulatorEnv(env: NodeJS.ProcessEnv = process.env): EmulatorEnv {
  const parsed = EmulatorEnvSchema.safeParse(env);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid emulator configuration: ${msg}`);
  }
  return parsed.data;
}
