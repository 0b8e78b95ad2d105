// `faceserver operators`: console accounts. Like `faceserver keys`, it goes through the running server's admin
// API when one serves this database (the embedded database is open in one process only), else to the database.
// The password is read from standard input (one line; asked twice, unechoed, on a terminal), never from the
// command line, where other users could read it in the process list.
import readline from 'node:readline';
import { loadConfig } from '../config';
import { databaseIdentity, readAdminSecret, readServerFile } from '../admin/local-files';
import { DOMAIN_ERROR_CODES, DomainError, type DomainErrorCode } from '../domain/errors';
import { openDb } from '../store/db';
import { migrate } from '../store/migrations';
import { OperatorAccounts } from './accounts';
import { OPERATORS_PATH } from './operators-admin';
import { passwordProblem } from './passwords';

export const OPERATORS_USAGE = `  faceserver operators add USER       a console account (password from stdin; asked twice on a terminal)
  faceserver operators passwd USER    a new password (ends the account's sessions)
  faceserver operators list
  faceserver operators remove USER    (ends the account's sessions)`;

export interface OperatorsIo {
  out(line: string): void;
  err(line: string): void;
  /** The password (stdin by default). */
  readPassword?(prompt: string): Promise<string>;
}

interface Backend {
  where: string;
  list(): Promise<{ username: string; createdAt: string }[]>;
  add(username: string, password: string): Promise<void>;
  passwd(username: string, password: string): Promise<void>;
  remove(username: string): Promise<boolean>;
  close(): Promise<void>;
}

class UsageProblem extends Error {}

/** Runs `faceserver operators ...`; returns the exit code (0 done, 1 failed, 2 usage). */
export async function operatorsCommand(args: string[], io: OperatorsIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [verb, username, ...extra] = args;
  try {
    if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
      io.out(`usage:\n${OPERATORS_USAGE}`);
      return verb === undefined ? 2 : 0;
    }
    if (!['add', 'passwd', 'list', 'remove'].includes(verb)) throw new UsageProblem(`unknown operators command "${verb}"`);
    if (verb === 'list' ? username !== undefined : username === undefined || extra.length) {
      throw new UsageProblem(verb === 'list' ? 'operators list takes no arguments' : `operators ${verb} takes one user name`);
    }
    let password = '';
    if (verb === 'add' || verb === 'passwd') {
      password = await (io.readPassword ?? readPasswordFromStdin)(`password for ${username}: `);
      const problem = passwordProblem(password);
      if (problem) throw new Error(problem);
    }
    const backend = await connect(env);
    try {
      switch (verb) {
        case 'list': {
          const operators = await backend.list();
          for (const o of operators) io.out(`${o.username}\t${o.createdAt}`);
          io.err(`${operators.length} operator(s) (${backend.where})`);
          return 0;
        }
        case 'add':
          await backend.add(username, password);
          io.err(`operator ${username} added (${backend.where}); sign in at /console`);
          return 0;
        case 'passwd':
          await backend.passwd(username, password);
          io.err(`password of ${username} changed (${backend.where})`);
          return 0;
        default:
          if (!(await backend.remove(username))) {
            io.err(`faceserver: no operator ${username}`);
            return 1;
          }
          io.err(`operator ${username} removed (${backend.where})`);
          return 0;
      }
    } finally {
      await backend.close();
    }
  } catch (err) {
    if (err instanceof UsageProblem) {
      io.err(`faceserver: ${err.message}\nusage:\n${OPERATORS_USAGE}`);
      return 2;
    }
    io.err(`faceserver: ${(err as Error).message}`);
    return 1;
  }
}

async function connect(env: NodeJS.ProcessEnv): Promise<Backend> {
  const config = loadConfig(env);
  const server = readServerFile(config.dataDir);
  if (server && server.database === databaseIdentity(config)) {
    const secret = readAdminSecret(config);
    const remote = remoteBackend(server.url, secret ?? '');
    try {
      await remote.list();
      return remote;
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // fetch failed: a stale server file, the database is free
    }
  }
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  const accounts = new OperatorAccounts(db);
  return {
    where: config.databaseUrl ? `the database ${databaseIdentity(config)}` : `the data folder ${config.dataDir}`,
    list: async () => (await accounts.list()).map((o) => ({ username: o.username, createdAt: o.createdAt.toISOString() })),
    add: async (u, p) => void (await accounts.create(u, p)),
    passwd: (u, p) => accounts.setPassword(u, p),
    remove: (u) => accounts.remove(u),
    close: () => db.close(),
  };
}

function remoteBackend(baseUrl: string, secret: string): Backend {
  const where = `the server at ${baseUrl}`;
  const call = async (method: 'GET' | 'POST', path: string, body?: object): Promise<Record<string, unknown>> => {
    const res = await fetch(`${baseUrl}${OPERATORS_PATH}${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const e = (json.error ?? {}) as { code?: string; message?: string };
      const code = (DOMAIN_ERROR_CODES as readonly string[]).includes(e.code ?? '') ? (e.code as DomainErrorCode) : 'INTERNAL';
      if (code.startsWith('KEY_')) throw new DomainError(code, `${where} refused the admin secret: set ADMIN_SECRET to the one it was started with`);
      throw new DomainError(code, e.message ?? `HTTP ${res.status}`);
    }
    return json;
  };
  return {
    where,
    list: async () => (await call('GET', '')).operators as { username: string; createdAt: string }[],
    add: async (username, password) => void (await call('POST', '', { username, password })),
    passwd: async (username, password) => void (await call('POST', '/password', { username, password })),
    remove: async (username) => (await call('POST', '/remove', { username })).removed === true,
    close: async () => {},
  };
}

/** One line from stdin; on a terminal, asked twice without echo. */
async function readPasswordFromStdin(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const rl = readline.createInterface({ input: process.stdin });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    throw new Error('no password on standard input');
  }
  const ask = (text: string) =>
    new Promise<string>((resolve) => {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      const mute = rl as unknown as { _writeToOutput: (s: string) => void };
      process.stderr.write(text);
      mute._writeToOutput = () => {};
      rl.question('', (answer) => {
        rl.close();
        process.stderr.write('\n');
        resolve(answer);
      });
    });
  const first = await ask(prompt);
  const second = await ask('again: ');
  if (first !== second) throw new Error('the two passwords differ');
  return first;
}
