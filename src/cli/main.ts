// The `faceserver` command (bin/faceserver). Reads the same settings as the server (loadConfig), opens and
// migrates the same database, runs one command.
import { loadConfig, ConfigError } from '../config';
import { KeyService } from '../domain/keys';
import { openDb } from '../store/db';
import { migrate } from '../store/migrations';
import { isUserError, KEYS_USAGE, runKeys, UsageError, type Output } from './keys';

const USAGE = `faceserver: self-hosted face recognition server
  faceserver start                 run the server (same as npm start)
${KEYS_USAGE.replace(/^usage:\n/, '')}
Settings come from the environment (DATA_DIR, DATABASE_URL, ...), as for the server.`;

const console_: Output = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

export async function main(argv: string[], io: Output = console_, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    io.out(USAGE);
    return group ? 0 : 2;
  }
  try {
    if (group === 'start') {
      await import('../main');
      return -1; // the server keeps running
    }
    if (group !== 'keys') throw new UsageError(`unknown command "${group}"`);
    const config = loadConfig(env);
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
    try {
      await migrate(db);
      return await runKeys(new KeyService(db), rest, io);
    } finally {
      await db.close();
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`faceserver: ${err.message}\n${USAGE}`);
      return 2;
    }
    if (isUserError(err) || err instanceof ConfigError) {
      io.err(`faceserver: ${(err as Error).message}`);
      return 1;
    }
    io.err(`faceserver: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const code = await main(process.argv.slice(2));
  if (code >= 0) process.exit(code);
}
