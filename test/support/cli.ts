// Runs the `faceserver` command: in this process (src/cli/main.ts, fast) or as its own process through
// bin/faceserver, as a user would beside a running server.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { REPO_ROOT } from './server';

export interface CliResult {
  code: number;
  out: string[];
  err: string[];
}

/** The settings the command reads: the data folder and, for PostgreSQL, the database. */
export function cliEnv(location: { dataDir: string; databaseUrl?: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { DATA_DIR: location.dataDir, ...(location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : {}), LOG_LEVEL: 'warn', ...extra };
}

export async function runCli(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  return { code, out, err };
}

/** bin/faceserver in a child process, with only `env` (and PATH) as its settings. */
export function spawnCli(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/faceserver'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = (s: string) => s.split('\n').filter(Boolean);
      resolve({ code: code ?? -1, out: lines(stdout), err: lines(stderr) });
    });
  });
}
