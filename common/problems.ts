import { closest } from 'fastest-levenshtein';
import { z } from 'zod';

/**
 * A problem with some input, named by the field it concerns. Every entry point (importctl, the console, the
 * workflow's validators) reports problems in this one shape; rejections carry them as failure `details`.
 */
export const ProblemSchema = z.object({ field: z.string(), message: z.string() });
export type Problem = z.infer<typeof ProblemSchema>;

const fieldOf = (path: readonly PropertyKey[]): string => (path.length > 0 ? path.map(String).join('.') : '(root)');

/** The keys an object schema accepts at `path`, for "did you mean" (unwraps defaults, optionals, pipes, unions). */
function knownKeysAt(schema: z.ZodType | undefined, path: readonly PropertyKey[]): string[] {
  let candidates: z.ZodType[] = schema ? [schema] : [];
  const expand = (s: z.ZodType): z.ZodType[] => {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodPrefault) {
      return expand(s.unwrap() as z.ZodType);
    }
    if (s instanceof z.ZodPipe) return expand(s.in as z.ZodType);
    if (s instanceof z.ZodUnion) return s.options.flatMap((o) => expand(o as z.ZodType));
    return [s];
  };
  for (const key of path) {
    candidates = candidates.flatMap(expand).flatMap((s): z.ZodType[] => {
      if (s instanceof z.ZodObject) {
        const child = (s.shape as Record<string, z.ZodType>)[String(key)];
        return child ? [child] : [];
      }
      if (s instanceof z.ZodArray && typeof key === 'number') return [s.element as z.ZodType];
      if (s instanceof z.ZodRecord) return [s.valueType as z.ZodType];
      return [];
    });
  }
  return candidates.flatMap(expand).flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape) : []));
}

function messageOf(issue: z.core.$ZodIssue, schema: z.ZodType | undefined): Problem[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(schema, issue.path);
    return issue.keys.map((key) => {
      const guess = known.length > 0 ? closest(key, known) : undefined;
      const hint = guess && guess !== key ? ` (did you mean "${guess}"?)` : '';
      return { field: fieldOf([...issue.path, key]), message: `unknown field${hint}` };
    });
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [{ field: fieldOf(issue.path), message: 'is required' }];
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Report the branch that got furthest (fewest problems) rather than zod's generic "Invalid input".
    const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
    const nested = best.flatMap((i) => messageOf({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue, schema));
    if (nested.length > 0) return nested;
  }
  return [{ field: fieldOf(issue.path), message: issue.message }];
}

/** The one translation of zod issues into problems; pass the schema to get "did you mean" for unknown fields. */
export function problemsFromZodError(error: z.ZodError, schema?: z.ZodType): Problem[] {
  return error.issues.flatMap((issue) => messageOf(issue, schema));
}

/** "field: message" lines, the form terminals and logs show. */
export function formatProblems(problems: readonly Problem[]): string[] {
  return problems.map((p) => `${p.field}: ${p.message}`);
}

/** Shorthand used where a zod error is shown directly as lines. */
export function describeIssues(error: z.ZodError, schema?: z.ZodType): string[] {
  return formatProblems(problemsFromZodError(error, schema));
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Keys that JSON and YAML parsers keep as own properties but object code silently drops or misreads;
 * refused by name instead of vanishing.
 */
export function forbiddenKeyProblems(value: unknown, path: readonly PropertyKey[] = []): Problem[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => forbiddenKeyProblems(v, [...path, i]));
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value).flatMap((key) =>
    FORBIDDEN_KEYS.has(key)
      ? [{ field: fieldOf([...path, key]), message: 'is not a field name this input accepts' }]
      : forbiddenKeyProblems((value as Record<string, unknown>)[key], [...path, key]),
  );
}

/** Parses `input` with `schema`; on failure returns the problems with every field named. */
export function parseWithProblems<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; value: z.infer<S> } | { ok: false; problems: Problem[] } {
  const forbidden = forbiddenKeyProblems(input);
  const parsed = schema.safeParse(input);
  if (parsed.success && forbidden.length === 0) return { ok: true, value: parsed.data };
  const named = new Set(forbidden.map((p) => p.field));
  const rest = parsed.success ? [] : problemsFromZodError(parsed.error, schema).filter((p) => !named.has(p.field));
  return { ok: false, problems: [...forbidden, ...rest] };
}
