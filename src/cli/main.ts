// The `faceserver` command (bin/faceserver). Reads the same settings as the server (loadConfig). Key and
// collection commands go to the server running on the same data folder / database when there is one (its
// admin API, found through DATA_DIR/server.json, with the admin secret), else to the database directly.
// Exit codes: 0 done, 1 failed, 2 usage (nothing was touched).
import { loadConfig, type Config } from '../config';
import { KeyService } from '../domain/keys';
import { KEY_KINDS } from '../dialects/key-kinds';
import { databaseIdentity } from '../admin/local-files';
import { findRunningServer } from './connect';
import { LocalKeyAdmin, type KeyAdmin } from '../admin/operations';
import { openDb } from '../store/db';
import { migrate } from '../store/migrations';
import { RemoteKeyAdmin } from './admin-client';
import { KEYS_USAGE, parseCommand, UsageError, type Output } from './keys';
import { operatorsCommand, OPERATORS_USAGE } from '../console/cli';
import { BULK_USAGE, parseExport, parseImport } from './bulk';

const USAGE = `faceserver: self-hosted face recognition server
  faceserver start                 run the server (same as npm start)
${KEYS_USAGE}
${OPERATORS_USAGE}
${BULK_USAGE}
Settings come from the environment (DATA_DIR, DATABASE_URL, ADMIN_SECRET, ...), as for the server.`;

const console_: Output = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

/** The running server's admin API when one serves this configuration's database, else the database itself. */
async function connect(config: Config): Promise<{ admin: KeyAdmin; close(): Promise<void> }> {
  const server = await findRunningServer(config);
  if (server) return { admin: new RemoteKeyAdmin(server.baseUrl, server.secret), close: async () => {} };
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  const where = config.databaseUrl ? `the database ${databaseIdentity(config)}` : `the data folder ${config.dataDir}`;
  return { admin: new LocalKeyAdmin(new KeyService(db, KEY_KINDS), db, where), close: () => db.close() };
}

export async function main(argv: string[], io: Output = console_, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    if (!group) {
      io.err(USAGE);
      return 2;
    }
    io.out(USAGE);
    return 0;
  }
  try {
    if (group === 'start') {
      if (rest.length) throw new UsageError(`faceserver start takes no arguments (settings come from the environment)`, USAGE);
      await import('../main');
      return -1; // the server keeps running
    }
    if (group === 'operators') return await operatorsCommand(rest, io, env);
    if (group === 'import' || group === 'export') {
      const command = group === 'import' ? parseImport(rest) : parseExport(rest);
      if ('help' in command) {
        io.out(`usage:\n${command.help}`);
        return 0;
      }
      return await command.run(loadConfig(env), { ...io, progress: io === console_ });
    }
    if (group !== 'keys' && group !== 'collections') throw new UsageError(`unknown command "${group}"`, USAGE);
    const command = parseCommand(group, rest);
    if ('help' in command) {
      io.out(`usage:\n${command.help}`);
      return 0;
    }
    const config = loadConfig(env);
    const { admin, close } = await connect(config);
    try {
      return await command.run(admin, io);
    } finally {
      await close();
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`faceserver: ${err.message}\nusage:\n${err.usage}`);
      return 2;
    }
    io.err(`faceserver: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const code = await main(process.argv.slice(2));
  if (code >= 0) process.exit(code);
}
