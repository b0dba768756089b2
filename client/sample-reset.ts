/**
 * `npm run sample:reset`: replaces the one-shot sample jobs that `npm start` writes with fresh ones (new job names,
 * new keys, empty drive folders) and removes the old samples' preparation journals, so the walkthrough can be run
 * again. Workflows of the old samples stay in Temporal's history; only local files are touched.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ensureSampleJobs } from '../scripts/lib/sample-jobs';

const EnvSchema = z.object({ DATA_DIR: z.string().min(1).default(path.join(__dirname, '..', 'data')) });
const SampleSpecSchema = z.object({ jobName: z.string(), drives: z.object({ prepare: z.object({ journalDir: z.string() }) }) });

/** Journals of the current samples: a fresh sample under the same journal directory must not resume an old one. */
function sampleJournals(dataDir: string): string[] {
  const sampleDir = path.join(dataDir, 'sample');
  if (!fs.existsSync(sampleDir)) return [];
  return fs
    .readdirSync(sampleDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => {
      const spec = SampleSpecSchema.safeParse(YAML.parse(fs.readFileSync(path.join(sampleDir, f), 'utf8')));
      return spec.success ? [path.join(spec.data.drives.prepare.journalDir, spec.data.jobName)] : [];
    });
}

export function resetSamples(dataDir: string): string[] {
  for (const journal of sampleJournals(dataDir)) fs.rmSync(journal, { recursive: true, force: true });
  return ensureSampleJobs(dataDir, { reset: true }).map((s) => s.specFile);
}

if (require.main === module) {
  const env = EnvSchema.parse(process.env);
  const files = resetSamples(path.resolve(env.DATA_DIR));
  process.stdout.write(`fresh sample jobs:\n${files.map((f) => `  npx importctl start ${path.relative(process.cwd(), f)}`).join('\n')}\n`);
}
