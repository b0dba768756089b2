import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { redactingLogger, redactObject, redactSecrets, REDACTED } from '../security/redact';

const BITLOCKER = '123456-234567-345678-456789-567890-678901-789012-890123';
const ACCOUNT_KEY = `${randomBytes(64).toString('base64')}`; // 88 chars, ends with ==
const SIG = 'sv8Zc3Ff%2BQk1p0aS9xN2Lk%3D';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const OPAQUE_TOKEN = 'tkn_9f8e7d6c5b4a39281706f5e4d3c2b1a0';

void describe('redactSecrets', () => {
  void it('sanity: the account key sample has the storage-key shape', () => {
    assert.equal(ACCOUNT_KEY.length, 88);
    assert.ok(ACCOUNT_KEY.endsWith('=='));
  });

  const samples: Array<[string, string, readonly string[]]> = [
    ['bitlocker', `drive WD-1 recovery password ${BITLOCKER} set`, [BITLOCKER, '123456-234567']],
    ['bitlocker in JSON', JSON.stringify({ drives: [{ id: 'd1', key: BITLOCKER }] }), [BITLOCKER]],
    ['bearer', `GET /x with Bearer ${OPAQUE_TOKEN} failed`, [OPAQUE_TOKEN]],
    ['authorization header', `Authorization: Bearer ${OPAQUE_TOKEN}\r\nHost: x`, [OPAQUE_TOKEN]],
    ['authorization json', JSON.stringify({ headers: { authorization: `SharedKey acct:${OPAQUE_TOKEN}` } }), [OPAQUE_TOKEN]],
    ['authorization basic', `authorization=Basic dXNlcjpwYXNzd29yZA==`, ['dXNlcjpwYXNzd29yZA']],
    ['account key', `key1 is ${ACCOUNT_KEY} ok`, [ACCOUNT_KEY, ACCOUNT_KEY.slice(0, 40)]],
    ['connection string', `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net`, [ACCOUNT_KEY.slice(0, 40)]],
    ['sas url', `https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&sig=${SIG}&se=2030-01-01`, [SIG]],
    ['sas first param', `container?sig=${SIG}`, [SIG]],
    ['jwt', `token ${JWT} expired`, [JWT]],
    ['password field', `{"clientSecret":"s3cr3t-value-xyz","other":1}`, ['s3cr3t-value-xyz']],
  ];
  for (const [name, text, forbidden] of samples) {
    void it(`redacts ${name}`, () => {
      const out = redactSecrets(text);
      for (const f of forbidden) assert.ok(!out.includes(f), `${name}: "${f}" survived in: ${out}`);
      assert.match(out, /REDACTED/);
    });
  }

  void it('keeps useful non-secret context', () => {
    const out = redactSecrets(`Authorization: Bearer ${OPAQUE_TOKEN}`);
    assert.equal(out, 'Authorization: Bearer [REDACTED]');
    const sas = redactSecrets(`https://a.blob.core.windows.net/c?sv=2022-11-02&sig=${SIG}&se=2030`);
    assert.equal(sas, 'https://a.blob.core.windows.net/c?sv=2022-11-02&sig=[REDACTED]&se=2030');
    const plain = 'job ij-42 created for drive WD-WCC4N0123456 in westeurope; 5 of 7 drives done; secretRef bitlocker-p1-d1';
    assert.equal(redactSecrets(plain), plain);
    assert.equal(redactSecrets('serial 123456-234567'), 'serial 123456-234567', 'two groups are not a key');
  });

  void it('redacts key-ring keys in base64, base64url and hex, and extra literal secrets', () => {
    const k = randomBytes(32);
    const opts = { keyRing: { keys: { k1: k } }, secrets: ['hunter2-long-secret'] };
    const text = `b64=${k.toString('base64')} url=${k.toString('base64url')} hex=${k.toString('hex')} pw hunter2-long-secret`;
    const out = redactSecrets(text, opts);
    for (const f of [k.toString('base64'), k.toString('base64url'), k.toString('hex'), 'hunter2-long-secret']) {
      assert.ok(!out.includes(f), `${f} survived`);
    }
  });
});

void describe('redactObject', () => {
  void it('redacts deeply, by key name and by value shape, without mutating the input', () => {
    const err = new Error(`CreateJob failed: ${BITLOCKER}`);
    const input: Record<string, unknown> = {
      password: 'plain-password-1',
      accessToken: OPAQUE_TOKEN,
      secretRef: { kind: 'secret-ref', store: 'local', name: 'bitlocker-p1-d1' },
      nested: { list: [`x ${BITLOCKER}`, { headers: { Authorization: `Bearer ${OPAQUE_TOKEN}` } }] },
      map: new Map([['token', OPAQUE_TOKEN], ['note', `k=${BITLOCKER}`]]),
      error: err,
      count: 3,
    };
    input.self = input;
    const out = redactObject(input);
    const s = JSON.stringify(out, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v === out ? '[cycle]' : v));
    for (const f of ['plain-password-1', OPAQUE_TOKEN, BITLOCKER]) assert.ok(!s.includes(f), `${f} survived: ${s}`);
    assert.equal(out.password, REDACTED);
    assert.deepEqual(out.secretRef, input.secretRef, 'SecretRefs are not secrets');
    assert.equal(out.count, 3);
    assert.equal(out.self, out, 'cycles preserved');
    const e = out.error as Error;
    assert.ok(e instanceof Error);
    assert.ok(!e.message.includes(BITLOCKER) && !(e.stack ?? '').includes(BITLOCKER));
    assert.ok(err.message.includes(BITLOCKER), 'input not mutated');
    assert.equal((input.nested as { list: string[] }).list[0], `x ${BITLOCKER}`);
  });
});

void describe('redactingLogger', () => {
  void it('redacts messages and meta for every level (DefaultLogger)', () => {
    const entries: LogEntry[] = [];
    const logger = redactingLogger(new DefaultLogger('TRACE', (entry) => entries.push(entry)));
    logger.trace(`t ${BITLOCKER}`);
    logger.debug('d', { key: BITLOCKER });
    logger.info(`i Bearer ${OPAQUE_TOKEN}`, { url: `https://a/b?sig=${SIG}` });
    logger.warn('w', { nested: { accountKey: ACCOUNT_KEY } });
    logger.error('e', { error: new Error(`boom ${BITLOCKER}`) });
    logger.log('INFO', `l ${BITLOCKER}`, { secret: 'abcdefgh' });
    assert.equal(entries.length, 6);
    const dump = JSON.stringify(entries.map((e) => ({ m: e.message, meta: e.meta, err: (e.meta?.error as Error | undefined)?.message })));
    for (const f of [BITLOCKER, OPAQUE_TOKEN, SIG, ACCOUNT_KEY, 'abcdefgh']) assert.ok(!dump.includes(f), `${f} survived: ${dump}`);
    assert.deepEqual(entries.map((e) => e.level), ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'INFO']);
  });

  void it('drops entries below its level before redacting them, and still redacts the rest', () => {
    const entries: LogEntry[] = [];
    let redactedValues = 0;
    // Metadata that counts how often redaction walked it (it lists an object's own keys).
    const counted = (): LogMetadata =>
      new Proxy<LogMetadata>({ detail: BITLOCKER }, { ownKeys: (target) => (redactedValues++, Reflect.ownKeys(target)) });
    const logger = redactingLogger(new DefaultLogger('TRACE', (entry) => entries.push(entry)), { level: 'WARN' });
    logger.debug(`d ${BITLOCKER}`, counted());
    logger.info(`i ${BITLOCKER}`, counted());
    logger.log('INFO', `l ${BITLOCKER}`, counted());
    assert.equal(redactedValues, 0, 'entries below WARN are not redacted, only dropped');
    logger.warn(`w ${BITLOCKER}`, counted());
    logger.log('ERROR', `e ${BITLOCKER}`);
    assert.deepEqual(entries.map((e) => [e.level, e.message]), [
      ['WARN', 'w [REDACTED:bitlocker-recovery-password]'],
      ['ERROR', 'e [REDACTED:bitlocker-recovery-password]'],
    ]);
    assert.equal(redactedValues, 1);
    assert.ok(!JSON.stringify(entries[0]?.meta).includes(BITLOCKER));
  });

  void it('wraps any Logger', () => {
    const calls: Array<[LogLevel, string, LogMetadata | undefined]> = [];
    const inner: Logger = {
      log: (l, m, meta) => calls.push([l, m, meta]),
      trace: (m, meta) => calls.push(['TRACE', m, meta]),
      debug: (m, meta) => calls.push(['DEBUG', m, meta]),
      info: (m, meta) => calls.push(['INFO', m, meta]),
      warn: (m, meta) => calls.push(['WARN', m, meta]),
      error: (m, meta) => calls.push(['ERROR', m, meta]),
    };
    redactingLogger(inner).warn(`x ${BITLOCKER}`);
    assert.deepEqual(calls, [['WARN', 'x [REDACTED:bitlocker-recovery-password]', undefined]]);
  });
});
