// Starts the real server on a free loopback port with a temporary data folder, for black-box HTTP tests.
// A server started without DATA_DIR deletes its data folder when closed.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config';
import { startServer, type RunningServer } from '../../src/server';
import { openDb } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';
import { removeTempDir, tempDir } from './temp';

export { removeTempDir, tempDir } from './temp';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** The migrated template of this mocha run (a temp folder: removed when the run ends, see ./hooks.ts). */
let template: Promise<string> | undefined;

function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = tempDir('faceserver-template-');
    const db = await openDb({ dataDir: dir, fsync: false }); // thrown away after the run: no need to reach the disk
    await migrate(db);
    await db.close();
    return dir;
  })().catch((err: unknown) => {
    template = undefined;
    throw err;
  });
  return template;
}

/**
 * A data folder with an embedded database already created and migrated; the caller removes it
 * (removeTempDir). Creating PGlite's cluster takes seconds; copying a migrated template made once per run
 * takes milliseconds.
 */
export async function migratedDataDir(): Promise<string> {
  const source = path.join(await migratedTemplate(), 'pgdata');
  const dir = tempDir();
  fs.cpSync(source, path.join(dir, 'pgdata'), { recursive: true });
  return dir;
}

/**
 * A validated config for tests: port 0 on 127.0.0.1, the repo's models, quiet logs; the embedded store without
 * fsync, as the test PostgreSQL runs (its data is thrown away; test/crash.test.ts covers the durable default).
 */
export function testConfig(env: Record<string, string> & { DATA_DIR: string }): Config {
  return loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    MODELS_DIR: path.join(REPO_ROOT, 'models'),
    LOG_LEVEL: 'warn',
    WORKERS: '2',
    EMBEDDED_FSYNC: 'false',
    ...env,
  });
}

/**
 * The real server. Without DATA_DIR it gets a fresh data folder of its own (migrated, on the embedded store)
 * and deletes it when closed, or when it fails to start; a DATA_DIR given is the caller's to remove.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<RunningServer> {
  if (env.DATA_DIR !== undefined) return startServer(testConfig({ ...env, DATA_DIR: env.DATA_DIR }), testLogger());
  const dataDir = env.DATABASE_URL ? tempDir() : await migratedDataDir();
  try {
    const server = await startServer(testConfig({ ...env, DATA_DIR: dataDir }), testLogger());
    const close = async () => {
      try {
        await server.close();
      } finally {
        removeTempDir(dataDir);
      }
    };
    return { ...server, close };
  } catch (err) {
    removeTempDir(dataDir);
    throw err;
  }
}

function testLogger() {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}
