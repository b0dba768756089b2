import { create } from 'xmlbuilder2';
import { XMLParser } from 'fast-xml-parser';

/**
 * DriveManifest (Version 2014-11-01). Written with xmlbuilder2; deterministic (blobs sorted by
 * blob path, no timestamps, no ids that depend on the preparation).
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

export function buildManifest(input: ManifestInput, blockIdOf: (i: number) => string): Buffer {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('DriveManifest', { Version: MANIFEST_VERSION });
  const drive = root.ele('Drive');
  drive.ele('DriveId').txt(input.driveId);
  drive.ele('ClientCreator').txt(CLIENT_CREATOR);
  const list = drive.ele('BlobList');
  const blobs = [...input.blobs].sort((a, b) => (a.blobPath < b.blobPath ? -1 : a.blobPath > b.blobPath ? 1 : 0));
  for (const b of blobs) {
    const e = list.ele('Blob');
    e.ele('BlobPath').txt(b.blobPath);
    e.ele('FilePath').txt(b.filePath);
    e.ele('Length').txt(String(b.length));
    e.ele('ImportDisposition').txt(b.disposition);
    if (b.kind === 'page') {
      const pr = e.ele('PageRangeList');
      b.hashes.forEach((h, i) => {
        const off = i * b.blockSize;
        pr.ele('PageRange', { Offset: String(off), Length: String(Math.min(b.blockSize, b.length - off)), Hash: h });
      });
    } else {
      const bl = e.ele('BlockList');
      b.hashes.forEach((h, i) => {
        const off = i * b.blockSize;
        bl.ele('Block', { Offset: String(off), Length: String(Math.min(b.blockSize, b.length - off)), Id: blockIdOf(i), Hash: h });
      });
    }
    if (b.metadata) e.ele('MetadataPath', { Hash: b.metadata.hash }).txt(b.metadata.filePath);
    if (b.properties) e.ele('PropertiesPath', { Hash: b.properties.hash }).txt(b.properties.filePath);
  }
  return Buffer.from(root.end({ prettyPrint: true, indent: '  ', newline: '\r\n' }) + '\r\n', 'utf8');
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
