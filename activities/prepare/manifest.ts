import { XMLParser } from 'fast-xml-parser';

/**
 * DriveManifest (Version 2014-11-01). Deterministic: blobs sorted by blob path, no timestamps, no
 * ids that depend on the preparation.
 *
 * No StorageAccountKey / ContainerSas element is written: the job created through the ARM API
 * names the target storage account by its resource id (`storageAccountId`), and account keys
 * never go on a shipped drive. BitLocker keys never go into the manifest either.
 */

export const MANIFEST_FILE_NAME = 'DriveManifest.xml';
/** `manifestFile` as the Import/Export API wants it. */
export const MANIFEST_FILE_API_PATH = '\\DriveManifest.xml';
export const MANIFEST_VERSION = '2014-11-01';
export const CLIENT_CREATOR = 'azure-import-orchestrator';

export interface ManifestBlob {
  blobPath: string;
  /** `\container\dir\file` relative to the drive root. */
  filePath: string;
  length: number;
  disposition: 'rename' | 'no-overwrite' | 'overwrite';
  kind: 'block' | 'page';
  /** Block/page-range size used to cut the file (4 MiB). */
  blockSize: number;
  /** Upper-case hex MD5 per block / page range, in offset order. */
  hashes: string[];
  metadata?: { filePath: string; hash: string };
  properties?: { filePath: string; hash: string };
}

export interface ManifestInput {
  driveId: string;
  blobs: ManifestBlob[];
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (s: string) => escapeText(s).replace(/"/g, '&quot;');
const NL = '\r\n';

/** `<name>text</name>`, or `<name/>` for empty text, at `depth` (two spaces each). */
function textElement(depth: number, name: string, text: string, attributes = ''): string {
  const pad = '  '.repeat(depth);
  return text === '' ? `${pad}<${name}${attributes}/>${NL}` : `${pad}<${name}${attributes}>${escapeText(text)}</${name}>${NL}`;
}

/**
 * The manifest as xmlbuilder2 pretty-prints it (two-space indent, CRLF, `<x/>` for empty
 * elements; test/prepare-manifest.test.ts compares the two), written directly: the document's
 * shape is fixed, and building it as a DOM first cost about half a second of CPU per 2000 blobs,
 * after the copy and before the preparation can finish. Unlike xmlbuilder2, which leaves an "&"
 * that starts something entity-like as it is, every "&" is escaped, so every name reads back
 * as written.
 */
export function buildManifest(input: ManifestInput, blockIdOf: (i: number) => string): Buffer {
  const out: string[] = [`<?xml version="1.0" encoding="UTF-8"?>${NL}<DriveManifest Version="${MANIFEST_VERSION}">${NL}  <Drive>${NL}`];
  out.push(textElement(2, 'DriveId', input.driveId), textElement(2, 'ClientCreator', CLIENT_CREATOR));
  const blobs = [...input.blobs].sort((a, b) => (a.blobPath < b.blobPath ? -1 : a.blobPath > b.blobPath ? 1 : 0));
  out.push(blobs.length ? `    <BlobList>${NL}` : `    <BlobList/>${NL}`);
  for (const b of blobs) {
    out.push(`      <Blob>${NL}`, textElement(4, 'BlobPath', b.blobPath), textElement(4, 'FilePath', b.filePath), textElement(4, 'Length', String(b.length)), textElement(4, 'ImportDisposition', b.disposition));
    const [list, item] = b.kind === 'page' ? ['PageRangeList', 'PageRange'] : ['BlockList', 'Block'];
    if (!b.hashes.length) out.push(`        <${list}/>${NL}`);
    else {
      out.push(`        <${list}>${NL}`);
      b.hashes.forEach((h, i) => {
        const off = i * b.blockSize;
        const id = b.kind === 'page' ? '' : ` Id="${escapeAttribute(blockIdOf(i))}"`;
        out.push(`          <${item} Offset="${off}" Length="${Math.min(b.blockSize, b.length - off)}"${id} Hash="${escapeAttribute(h)}"/>${NL}`);
      });
      out.push(`        </${list}>${NL}`);
    }
    if (b.metadata) out.push(textElement(4, 'MetadataPath', b.metadata.filePath, ` Hash="${escapeAttribute(b.metadata.hash)}"`));
    if (b.properties) out.push(textElement(4, 'PropertiesPath', b.properties.filePath, ` Hash="${escapeAttribute(b.properties.hash)}"`));
    out.push(`      </Blob>${NL}`);
  }
  if (blobs.length) out.push(`    </BlobList>${NL}`);
  out.push(`  </Drive>${NL}</DriveManifest>${NL}`);
  return Buffer.from(out.join(''), 'utf8');
}

/* ------------------------------------------------------------------------------------------ */
/* Reading (verify mode)                                                                        */
/* ------------------------------------------------------------------------------------------ */

export interface ParsedRange {
  offset: number;
  length: number;
  hash: string;
  id?: string;
}

export interface ParsedBlob {
  blobPath: string;
  filePath: string;
  length: number;
  kind: 'block' | 'page';
  ranges: ParsedRange[];
  metadata?: { filePath: string; hash: string };
  properties?: { filePath: string; hash: string };
}

export interface ParsedManifest {
  version: string;
  driveId: string;
  blobs: ParsedBlob[];
}

type XmlNode = Record<string, unknown>;

function asArray(v: unknown): XmlNode[] {
  if (v === undefined || v === null || v === '') return [];
  return (Array.isArray(v) ? v : [v]) as XmlNode[];
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return String((v as XmlNode)['#text'] ?? '');
  return String(v);
}

export function parseManifest(xml: string): ParsedManifest {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: true,
    isArray: (name) => ['BlobList', 'Blob', 'Block', 'PageRange'].includes(name),
  });
  const doc = parser.parse(xml) as XmlNode;
  const dm = doc['DriveManifest'] as XmlNode | undefined;
  if (!dm) throw new Error('not a DriveManifest document');
  const drive = dm['Drive'] as XmlNode | undefined;
  if (!drive) throw new Error('DriveManifest has no Drive element');
  const blobs: ParsedBlob[] = [];
  for (const list of asArray(drive['BlobList'])) {
    for (const b of asArray(list['Blob'])) {
      const pageList = b['PageRangeList'] as XmlNode | undefined;
      const blockList = b['BlockList'] as XmlNode | undefined;
      const kind: 'block' | 'page' = pageList !== undefined ? 'page' : 'block';
      const items = kind === 'page' ? asArray(pageList?.['PageRange']) : asArray(blockList?.['Block']);
      const ranges = items.map((r) => {
        const pr: ParsedRange = { offset: Number(r['@Offset']), length: Number(r['@Length']), hash: String(r['@Hash'] ?? '') };
        if (r['@Id'] !== undefined) pr.id = String(r['@Id']);
        return pr;
      });
      const pb: ParsedBlob = {
        blobPath: text(b['BlobPath']),
        filePath: text(b['FilePath']),
        length: Number(text(b['Length'])),
        kind,
        ranges,
      };
      const md = b['MetadataPath'];
      if (md !== undefined) pb.metadata = { filePath: text(md), hash: String((md as XmlNode)['@Hash'] ?? '') };
      const pp = b['PropertiesPath'];
      if (pp !== undefined) pb.properties = { filePath: text(pp), hash: String((pp as XmlNode)['@Hash'] ?? '') };
      blobs.push(pb);
    }
  }
  return { version: String(dm['@Version'] ?? ''), driveId: text(drive['DriveId']), blobs };
}
