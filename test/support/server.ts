// Starts the real server on a free loopback port with a temporary data folder, for black-box HTTP tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config';
import { startServer, type RunningServer } from '../../src/server';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export function tempDir(prefix = 'faceserver-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
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
  const config = testConfig(env);
  return startServer(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
}
