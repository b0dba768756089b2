/**
 * Secret scrubbing for anything that may end up in logs, error messages, Temporal failures or
 * workflow histories. Reusable by other modules: `scrubSecrets(text)`.
 *
 * Covered:
 * - BitLocker recovery passwords (8 groups of 6 digits), and any value of a `bitLockerKey` field;
 * - bearer tokens (`Bearer xxx`, `Authorization: xxx`) and bare JWTs (`eyJ...`);
 * - storage account keys (88-char base64 ending in `==`, `AccountKey=...` in connection strings);
 * - SAS signatures (`sig=...`) and a few other credential-ish query/form parameters.
 */

const REPLACEMENTS: ReadonlyArray<readonly [RegExp, string]> = [
  // Any JSON/form value of a bitLockerKey field, whatever its format.
  [/("bitLockerKey"\s*:\s*")(?:[^"\\]|\\.)*(")/gi, '$1[REDACTED]$2'],
  [/(\bbitLockerKey\s*=\s*)(?!\[REDACTED)[^\s,;&"'}]+/gi, '$1[REDACTED]'],
  // BitLocker recovery password.
  [/\d{6}(?:-\d{6}){7}/g, '[REDACTED-BITLOCKER-KEY]'],
  // Authorization headers / bearer tokens.
  [/(\bBearer\s+)[A-Za-z0-9\-._~+/]+=*/gi, '$1[REDACTED]'],
  [/("?authorization"?\s*[:=]\s*"?)(?!Bearer\b)(?!\[REDACTED)[^\s",}]+/gi, '$1[REDACTED]'],
  // Bare JWTs (AAD access tokens).
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[REDACTED-JWT]'],
  // Connection-string account keys and SAS signatures.
  [/(\bAccountKey=)[^;\s"']+/gi, '$1[REDACTED]'],
  [/([?&;\s"']sig=|^sig=)[^&\s"']+/gim, '$1[REDACTED]'],
  [/(\b(?:client_secret|clientSecret|password|access_token|refresh_token)=)(?!\[REDACTED)[^&\s"',}]+/gi, '$1[REDACTED]'],
  [/("(?:client_secret|clientSecret|password|access_token|accessToken|refresh_token|accountKey|storageAccountKey)"\s*:\s*")(?:[^"\\]|\\.)*(")/gi, '$1[REDACTED]$2'],
  // Storage account key: 64 bytes -> 88 base64 chars ending with '=='.
  [/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/g, '[REDACTED-ACCOUNT-KEY]'],
];

/** Returns `text` with every recognised secret replaced by a `[REDACTED...]` marker. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of REPLACEMENTS) {
    out = out.replace(pattern, replacement);
  }
  return out;
}

/** True when `text` still contains something that looks like a secret. */
export function containsSecret(text: string): boolean {
  return scrubSecrets(text) !== text;
}
