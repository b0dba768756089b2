/**
 * The console as `npm start` runs it: users come from data/console-users.json, created on first start with an
 * `operator` and a `clerk` whose random passwords are written once to data/console-initial-passwords.txt (mode 0600).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadSecurityConfig } from '../security/config';
import { dataConverterFor } from '../security/payload-codec';
import { createSecretStore } from '../security/secret-store';
import { loadUsersFile } from './config';
import { hashPassword } from './passwords';
import { startConsole } from './server';

export async function startLocalConsole(opts: { temporalAddress: string; dataDir: string; port: number; log: (line: string) => void; taskQueue?: string }): Promise<{ url: string; close(): Promise<void> }> {
  const usersFile = process.env.CONSOLE_USERS_FILE ?? path.join(opts.dataDir, 'console-users.json');
  if (!fs.existsSync(usersFile)) {
    const passwords = { operator: crypto.randomBytes(12).toString('base64url'), clerk: crypto.randomBytes(12).toString('base64url') };
    const users = [
      { username: 'operator', role: 'operator', passwordHash: await hashPassword(passwords.operator), displayName: 'Operator' },
      { username: 'clerk', role: 'clerk', passwordHash: await hashPassword(passwords.clerk), displayName: 'Shipping clerk' },
    ];
    fs.writeFileSync(usersFile, `${JSON.stringify({ users }, null, 2)}\n`, { mode: 0o600 });
    const pwFile = path.join(opts.dataDir, 'console-initial-passwords.txt');
    fs.writeFileSync(pwFile, `operator ${passwords.operator}\nclerk ${passwords.clerk}\n`, { mode: 0o600 });
    opts.log(`created console users (operator, clerk); their passwords are in ${pwFile}`);
  }
  const users = loadUsersFile(usersFile);
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const security = loadSecurityConfig();
  const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFor(security) });
  const running = await startConsole({
    client,
    taskQueue: opts.taskQueue ?? process.env.TASK_QUEUE ?? 'import-jobs',
    users,
    port: opts.port,
    ...(process.env.CONSOLE_PUBLIC_URL ? { publicUrl: process.env.CONSOLE_PUBLIC_URL } : {}),
    secrets: { store: createSecretStore(security), kind: security.secretStore.kind },
  });
  return {
    url: running.url,
    async close() {
      await running.close();
      await connection.close();
    },
  };
}
