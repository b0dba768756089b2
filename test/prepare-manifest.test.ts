/**
 * The drive manifest writer: byte-identical to xmlbuilder2's pretty print of the same document
 * (the oracle), and every name and hash reads back as written, on generated inputs with XML's
 * special characters and non-ASCII text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { create } from 'xmlbuilder2';
import { CLIENT_CREATOR, MANIFEST_VERSION, buildManifest, parseManifest, type ManifestBlob, type ManifestInput } from '../activities/prepare/manifest';
import { blockId } from '../activities/prepare/names';

function withXmlbuilder2(input: ManifestInput): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('DriveManifest', { Version: MANIFEST_VERSION });
  const drive = root.ele('Drive');
  drive.ele('DriveId').txt(input.driveId);
  drive.ele('ClientCreator').txt(CLIENT_CREATOR);
  const list = drive.ele('BlobList');
  for (const b of [...input.blobs].sort((x, y) => (x.blobPath < y.blobPath ? -1 : x.blobPath > y.blobPath ? 1 : 0))) {
    const e = list.ele('Blob');
    e.ele('BlobPath').txt(b.blobPath);
    e.ele('FilePath').txt(b.filePath);
    e.ele('Length').txt(String(b.length));
    e.ele('ImportDisposition').txt(b.disposition);
    const ranges = e.ele(b.kind === 'page' ? 'PageRangeList' : 'BlockList');
    b.hashes.forEach((h, i) => {
      const off = i * b.blockSize;
      const length = String(Math.min(b.blockSize, b.length - off));
      ranges.ele(b.kind === 'page' ? 'PageRange' : 'Block', b.kind === 'page' ? { Offset: String(off), Length: length, Hash: h } : { Offset: String(off), Length: length, Id: blockId(i), Hash: h });
    });
    if (b.metadata) e.ele('MetadataPath', { Hash: b.metadata.hash }).txt(b.metadata.filePath);
    if (b.properties) e.ele('PropertiesPath', { Hash: b.properties.hash }).txt(b.properties.filePath);
  }
  return root.end({ prettyPrint: true, indent: '  ', newline: '\r\n' }) + '\r\n';
}

const BLOCK = 4 * 1024 * 1024;
const name = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '/', '\\', ' ', '&', '<', '>', '"', "'", ';', '#', 'é', '日', '😀'), minLength: 1, maxLength: 24 });
const hash = fc.string({ unit: fc.constantFrom(...'0123456789ABCDEF&"<'), minLength: 0, maxLength: 32 });
const blob: fc.Arbitrary<ManifestBlob> = fc
  .record({
    blobPath: name,
    filePath: name,
    blocks: fc.integer({ min: 0, max: 4 }),
    tail: fc.integer({ min: 1, max: BLOCK }),
    disposition: fc.constantFrom('rename' as const, 'no-overwrite' as const, 'overwrite' as const),
    kind: fc.constantFrom('block' as const, 'page' as const),
    hashes: fc.array(hash, { minLength: 4, maxLength: 4 }),
    metadata: fc.option(fc.record({ filePath: name, hash }), { nil: undefined }),
    properties: fc.option(fc.record({ filePath: name, hash }), { nil: undefined }),
  })
  .map((r) => {
    const b: ManifestBlob = {
      blobPath: r.blobPath,
      filePath: r.filePath,
      length: r.blocks === 0 ? 0 : (r.blocks - 1) * BLOCK + r.tail,
      disposition: r.disposition,
      kind: r.kind,
      blockSize: BLOCK,
      hashes: r.hashes.slice(0, r.blocks),
    };
    if (r.metadata) b.metadata = r.metadata;
    if (r.properties) b.properties = r.properties;
    return b;
  });
const manifest = fc.record({ driveId: fc.oneof(fc.constant(''), name), blobs: fc.uniqueArray(blob, { maxLength: 6, selector: (b) => b.blobPath }) });

// xmlbuilder2 leaves an "&" that begins something entity-like ("&amp;", "&#38;") unescaped, so that text would read back changed.
const entityLike = /&([A-Za-z]+|#\d+);/;
const texts = (m: ManifestInput) => [m.driveId, ...m.blobs.flatMap((b) => [b.blobPath, b.filePath, ...b.hashes, b.metadata?.filePath ?? '', b.metadata?.hash ?? '', b.properties?.filePath ?? '', b.properties?.hash ?? ''])];

void test('the manifest equals xmlbuilder2 pretty-printing the same document, byte for byte (property)', () => {
  fc.assert(
    fc.property(manifest, (m) => {
      fc.pre(!texts(m).some((t) => entityLike.test(t)));
      assert.equal(buildManifest(m, blockId).toString('utf8'), withXmlbuilder2(m));
    }),
    { numRuns: 400 },
  );
});

void test('every name, hash and range reads back as written, "&amp;" in a name included (property)', () => {
  fc.assert(
    fc.property(manifest, fc.constantFrom('', '&amp;', '&#38;', '&lt;x'), (m, entity) => {
      const input: ManifestInput = { driveId: m.driveId + entity, blobs: m.blobs.map((b) => ({ ...b, filePath: b.filePath + entity })) };
      const parsed = parseManifest(buildManifest(input, blockId).toString('utf8'));
      // The parser trims text; the generated names may end in spaces.
      assert.equal(parsed.driveId, input.driveId.trim());
      const sorted = [...input.blobs].sort((x, y) => (x.blobPath < y.blobPath ? -1 : x.blobPath > y.blobPath ? 1 : 0));
      assert.deepEqual(
        parsed.blobs.map((b) => [b.blobPath, b.filePath, b.length, b.kind, b.ranges.map((r) => [r.offset, r.length, r.hash]), b.metadata, b.properties]),
        sorted.map((b) => [
          b.blobPath.trim(),
          b.filePath.trim(),
          b.length,
          b.kind,
          b.hashes.map((h, i) => [i * BLOCK, Math.min(BLOCK, b.length - i * BLOCK), h]),
          b.metadata && { filePath: b.metadata.filePath.trim(), hash: b.metadata.hash },
          b.properties && { filePath: b.properties.filePath.trim(), hash: b.properties.hash },
        ]),
      );
    }),
    { numRuns: 300 },
  );
});
