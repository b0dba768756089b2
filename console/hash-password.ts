/**
 * Creates a scrypt password hash for the console's users file (CONSOLE_USERS_FILE).
 *
 *   npx tsx console/hash-password.ts                      # prompts (no echo), prints the hash
 *   echo -n 's3cret' | npx tsx console/hash-password.ts   # reads the password from stdin
 *   npx tsx console/hash-password.ts --user ann --role clerk   # prints a users-file entry as JSON
 *
 * The password is never taken from the command line (it would end up in shell history and `ps`).
 */
import { ROLES, ConsoleUserSchema } from './config';
import { hashPassword } from './passwords';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log('usage: tsx console/hash-password.ts [--user NAME --role clerk|operator] [--name "Display Name"]  (password from prompt or stdin)');
    return;
  }
  let password: string;
  if (process.stdin.isTTY) {
    password = await readHidden('Password: ');
    const again = await readHidden('Again: ');
    if (again !== password) throw new Error('the passwords differ');
  } else {
    password = await readStdin();
  }
  if (password.length < 8) throw new Error('use at least 8 characters');
  const hash = await hashPassword(password);
  const user = arg('user');
  if (!user) {
    console.log(hash);
    return;
  }
  const role = arg('role') ?? 'clerk';
  if (!(ROLES as readonly string[]).includes(role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  const entry = ConsoleUserSchema.parse({ username: user, role, passwordHash: hash, ...(arg('name') ? { displayName: arg('name') } : {}) });
  console.log(JSON.stringify(entry, null, 2));
}

main().catch((err) => {
  console.error(`hash-password: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
