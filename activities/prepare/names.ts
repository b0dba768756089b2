import { createHash } from 'node:crypto';

/** Container name rules: 3-63 chars, lowercase letters/digits/dashes, starts with a letter or digit, no `--`; or `$root`. */
export function containerNameProblem(name: string): string | undefined {
  if (name === '$root') return undefined;
  if (name.length < 3 || name.length > 63) return `container name "${name}" must be 3 to 63 characters long (or $root)`;
  if (!/^[a-z0-9-]+$/.test(name)) return `container name "${name}" may contain only lowercase letters, digits and dashes (or be $root)`;
  if (!/^[a-z0-9]/.test(name)) return `container name "${name}" must start with a letter or digit`;
  if (name.endsWith('-')) return `container name "${name}" must not end with a dash`;
  if (name.includes('--')) return `container name "${name}" must not contain consecutive dashes`;
  return undefined;
}

/** Blob name rules (import side): 1..1024 chars, no empty / `.` / `..` segments, no trailing dot or slash, no control chars. */
export function blobNameProblem(container: string, blob: string): string | undefined {
  if (blob.length === 0) return 'blob name is empty';
  if (blob.length > 1024) return `blob name is longer than 1024 characters (${blob.length})`;
   
  if (/[\u0000-\u001f\u007f]/.test(blob)) return `blob name "${printable(blob)}" contains control characters`;
  if (blob.includes('\\')) return `blob name "${blob}" contains a backslash`;
  if (blob.endsWith('/') || blob.endsWith('.')) return `blob name "${blob}" must not end with a dot or a slash`;
  const segs = blob.split('/');
  if (container === '$root' && segs.length > 1) return `blobs in the $root container cannot contain "/" ("${blob}")`;
  if (segs.length > 254) return `blob name "${blob}" has more than 254 path segments`;
  for (const s of segs) {
    if (s === '') return `blob name "${blob}" contains an empty path segment ("//" or leading "/")`;
    if (s === '.' || s === '..') return `blob name "${blob}" contains a "${s}" segment`;
  }
  return undefined;
}

function printable(s: string): string {
   
  return s.replace(/[\u0000-\u001f\u007f]/g, '?');
}

/** Splits `container/rest` and validates the container part. */
export function splitDestination(dst: string): { container: string; rest: string } | { problem: string } {
  const slash = dst.indexOf('/');
  if (slash <= 0) return { problem: `"${dst}" must be "container/", "container/prefix/" or "container/blob"` };
  const container = dst.slice(0, slash);
  const problem = containerNameProblem(container);
  if (problem) return { problem };
  return { container, rest: dst.slice(slash + 1) };
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
 
const WINDOWS_BAD_CHARS = /[<>:"|?*\\\u0000-\u001f]/g;

/**
 * Maps one blob-path segment to a file-name segment that NTFS/Windows accepts (the drive is read
 * by the Azure data centre on Windows). Valid segments stay unchanged; others get their bad
 * characters replaced by `_` and a short hash so that distinct names stay distinct.
 */
export function windowsSafeSegment(seg: string): string {
  const bad =
    WINDOWS_BAD_CHARS.test(seg) || WINDOWS_RESERVED.test(seg) || /[. ]$/.test(seg) || Buffer.byteLength(seg) > 240 || seg.length > 240;
  WINDOWS_BAD_CHARS.lastIndex = 0;
  if (!bad) return seg;
  const h = createHash('md5').update(seg).digest('hex').slice(0, 8);
  let base = seg.replace(WINDOWS_BAD_CHARS, '_').replace(/[. ]+$/, '');
  while (Buffer.byteLength(base) > 200) base = base.slice(0, -1);
  return `${base}~${h}`;
}

/** The relative path (with `/`) under the drive root where a blob's file is stored in copy mode. */
export function driveRelativePathForBlob(container: string, blob: string): string {
  return [container, ...blob.split('/')].map(windowsSafeSegment).join('/');
}

/** `a/b/c` → `\a\b\c` (manifest FilePath). */
export function toManifestPath(rel: string): string {
  return '\\' + rel.split('/').join('\\');
}

/** Encodes a block index as a Base64 block id of constant length (4-byte little-endian, as the service does). */
export function blockId(index: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(index);
  return b.toString('base64');
}
