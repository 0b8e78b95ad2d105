// The two files in DATA_DIR through which a running server and the `faceserver` CLI on the same machine find
// each other:
// - admin-secret (mode 0600): the admin API's secret, generated at first start when ADMIN_SECRET is not set.
//   The server keeps only its sha-256; the file is the CLI's copy. Whoever can read it can already read
//   DATA_DIR (the embedded database itself), so it opens nothing new to them.
// - server.json (mode 0600): the running server's pid, a loopback URL of its admin API and the database it
//   serves, written once it listens and removed when it stops. A stale one (the process is gone, or the URL
//   does not answer) is ignored.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';

export const ADMIN_SECRET_FILE = 'admin-secret';
export const SERVER_FILE = 'server.json';

export interface ServerFile {
  pid: number;
  /** Base URL the CLI on this machine reaches the server at. */
  url: string;
  /** databaseIdentity() of the store the server runs on. */
  database: string;
  startedAt: string;
}

export const sha256 = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();

/**
 * Which database a configuration points at, without credentials: "embedded" (the data folder's own, where the
 * server file lives) or the PostgreSQL URL's host, port and database.
 */
export function databaseIdentity(config: Pick<Config, 'databaseUrl'>): string {
  if (!config.databaseUrl) return 'embedded';
  const u = new URL(config.databaseUrl);
  return `postgres://${u.hostname.toLowerCase()}:${u.port || '5432'}${u.pathname}`;
}

/**
 * The sha-256 of the admin secret: ADMIN_SECRET (or the hash it gives), else the secret in DATA_DIR/admin-secret,
 * generated there now if absent. Returns whether it was generated, for the log.
 */
export function adminSecretHash(config: Pick<Config, 'adminSecret' | 'dataDir'>): { hash: Buffer; generatedFile?: string; looseFile?: string } {
  if (config.adminSecret?.sha256) return { hash: config.adminSecret.sha256 };
  if (config.adminSecret?.secret) return { hash: sha256(config.adminSecret.secret) };
  const file = path.join(config.dataDir, ADMIN_SECRET_FILE);
  const existing = readSecretFile(file);
  if (existing !== undefined) {
    const loose = (fs.statSync(file).mode & 0o077) !== 0;
    return { hash: sha256(existing), looseFile: loose ? file : undefined };
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const secret = crypto.randomBytes(32).toString('base64url');
  try {
    fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another instance on this folder wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { hash: sha256(readSecretFile(file)!) };
    throw err;
  }
  return { hash: sha256(secret), generatedFile: file };
}

/** The plain admin secret the CLI presents: ADMIN_SECRET when it is one (not a hash), else the file's. */
export function readAdminSecret(config: Pick<Config, 'adminSecret' | 'dataDir'>): string | undefined {
  return config.adminSecret?.secret ?? readSecretFile(path.join(config.dataDir, ADMIN_SECRET_FILE));
}

function readSecretFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const secret = text.trim();
  if (secret.length < 16) throw new Error(`${file} holds no admin secret (at least 16 characters); delete it to have a new one generated`);
  return secret;
}

export function writeServerFile(dataDir: string, info: ServerFile): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, SERVER_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(temp, file);
}

/** Removes the server file if it is still this process's (another instance may have replaced it since). */
export function removeServerFile(dataDir: string, pid = process.pid): void {
  const file = path.join(dataDir, SERVER_FILE);
  if (readServerFile(dataDir)?.pid === pid) fs.rmSync(file, { force: true });
}

/** The server file if present and readable, and its process alive; undefined otherwise. */
export function readServerFile(dataDir: string): ServerFile | undefined {
  let info: ServerFile;
  try {
    info = JSON.parse(fs.readFileSync(path.join(dataDir, SERVER_FILE), 'utf8')) as ServerFile;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(info.pid) || typeof info.url !== 'string' || typeof info.database !== 'string') return undefined;
  return processAlive(info.pid) ? info : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/** The URL a client on this machine reaches a server listening on host:port at (wildcards: loopback). */
export function localUrl(host: string, port: number): string {
  const h = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
