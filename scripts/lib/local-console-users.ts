/**
 * The console's users for a local run: data/console-users.json, created on first start with an `operator` and a
 * `clerk` whose random passwords are written once to data/console-initial-passwords.txt (mode 0600).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hashPassword } from '../../console/passwords';

export async function ensureLocalConsoleUsers(dataDir: string, log: (line: string) => void): Promise<{ usersFile: string; passwordsFile: string }> {
  const usersFile = path.join(dataDir, 'console-users.json');
  const passwordsFile = path.join(dataDir, 'console-initial-passwords.txt');
  if (!fs.existsSync(usersFile)) {
    const passwords = { operator: crypto.randomBytes(12).toString('base64url'), clerk: crypto.randomBytes(12).toString('base64url') };
    const users = [
      { username: 'operator', role: 'operator', passwordHash: await hashPassword(passwords.operator), displayName: 'Operator' },
      { username: 'clerk', role: 'clerk', passwordHash: await hashPassword(passwords.clerk), displayName: 'Shipping clerk' },
    ];
    fs.writeFileSync(passwordsFile, `operator ${passwords.operator}\nclerk ${passwords.clerk}\n`, { mode: 0o600 });
    fs.writeFileSync(usersFile, `${JSON.stringify({ users }, null, 2)}\n`, { mode: 0o600 });
    log(`created console users (operator, clerk); their passwords are in ${passwordsFile}`);
  }
  return { usersFile, passwordsFile };
}
