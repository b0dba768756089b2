import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface EmulatorCertificate {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

/**
 * A self-signed certificate for localhost/127.0.0.1/::1 (and `host` when it is something else), kept in
 * `<dataDir>/tls/` so clients that trust it keep working across restarts. The certificate is its own
 * trust anchor: point NODE_EXTRA_CA_CERTS (or AZURE_CA_FILE for the worker) at `certPath`.
 */
export async function ensureCertificate(dataDir: string, host: string): Promise<EmulatorCertificate> {
  const dir = path.join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certPath = path.join(dir, 'emulator-ca.pem');
  const keyPath = path.join(dir, 'emulator-key.pem');
  const dnsNames = ['localhost'];
  const ips = ['127.0.0.1', '::1'];
  if (host !== '0.0.0.0' && host !== '::') {
    if (isIP(host) !== 0) {
      if (!ips.includes(host)) ips.push(host);
    } else if (!dnsNames.includes(host)) dnsNames.push(host);
  }
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    const key = readFileSync(keyPath, 'utf8');
    try {
      const x = new X509Certificate(cert);
      const san = x.subjectAltName ?? '';
      const covers = dnsNames.every((d) => san.includes(`DNS:${d}`)) && ips.every((ip) => x.checkIP(ip) !== undefined);
      const validForADay = Date.parse(x.validTo) - Date.now() > 86_400_000;
      if (covers && validForADay) return { certPath, keyPath, cert, key };
    } catch {
      // unreadable: regenerate
    }
  }
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 825 * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: 'Azure Import/Export emulator (localhost)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...dnsNames.map((value) => ({ type: 2 as const, value })), ...ips.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  writeFileSync(certPath, pems.cert, { mode: 0o644 });
  return { certPath, keyPath, cert: pems.cert, key: pems.private };
}
