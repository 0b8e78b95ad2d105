// Starts the real server on a free loopback port with a temporary data folder, for black-box HTTP tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config';
import { startServer, type RunningServer } from '../../src/server';
import { openDb } from '../../src/store/db';
import { migrate, readMigrations } from '../../src/store/migrations';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export function tempDir(prefix = 'faceserver-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A data folder with an embedded database already created and migrated. Creating PGlite's cluster takes
 * seconds; copying a migrated template made once per set of migrations takes milliseconds.
 */
export async function migratedDataDir(): Promise<string> {
  const key = crypto.createHash('sha256').update(readMigrations().map((m) => m.checksum).join()).digest('hex').slice(0, 16);
  const template = path.join(os.tmpdir(), `faceserver-template-${key}`);
  if (!fs.existsSync(path.join(template, 'ready'))) {
    const building = tempDir('faceserver-template-build-');
    const db = await openDb({ dataDir: building });
    await migrate(db);
    await db.close();
    fs.writeFileSync(path.join(building, 'ready'), '');
    try {
      fs.renameSync(building, template);
    } catch {
      fs.rmSync(building, { recursive: true, force: true }); // another process made it first
    }
  }
  const dir = tempDir();
  fs.cpSync(path.join(template, 'pgdata'), path.join(dir, 'pgdata'), { recursive: true });
  return dir;
}

/** A validated config for tests: port 0 on 127.0.0.1, a fresh data folder, the repo's models, quiet logs. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: tempDir(),
    MODELS_DIR: path.join(REPO_ROOT, 'models'),
    LOG_LEVEL: 'warn',
    WORKERS: '2',
    ...env,
  });
}

export async function startTestServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const dataDir = env.DATA_DIR ?? (env.DATABASE_URL ? tempDir() : await migratedDataDir());
  const config = testConfig({ ...env, DATA_DIR: dataDir });
  return startServer(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
}
