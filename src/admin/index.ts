// The server's side of key management while it runs: the admin API (mounted as one more path prefix of the
// HTTP app) and the server file through which the CLI on this machine finds it (src/admin/local-files.ts).
import type { Config } from '../config';
import type { KeyService } from '../domain/keys';
import type { Dialect } from '../http/app';
import type { Logger } from '../log';
import type { Db } from '../store/db';
import { adminSecretHash, databaseIdentity, localUrl, removeServerFile, writeServerFile } from './local-files';
import { LocalKeyAdmin } from './operations';
import { createAdminApi } from './routes';
import type { BulkAdmin } from './bulk';

export interface ServerAdmin {
  /** The admin API's routes, none when ADMIN_API=false. */
  dialects: Dialect[];
  /** Writes DATA_DIR/server.json once the server listens on `port`. */
  publish(port: number): void;
  /** Removes it (when it is still this process's). */
  unpublish(): void;
}

export function createServerAdmin(config: Config, deps: { keys: KeyService; db: Db; log: Logger; bulk?: BulkAdmin }): ServerAdmin {
  const { log } = deps;
  if (!config.adminApi) return { dialects: [], publish() {}, unpublish() {} };
  const secret = adminSecretHash(config);
  if (secret.generatedFile) log.info({ file: secret.generatedFile }, 'admin secret generated (the CLI on this machine reads it from there)');
  if (secret.looseFile) log.warn({ file: secret.looseFile }, 'the admin secret file is readable by other users: chmod 600 it');
  // The same KeyService the dialects authenticate with: a revocation here clears their cache at once.
  const admin = new LocalKeyAdmin(deps.keys, deps.db, 'this server');
  const api = createAdminApi({ admin, secretHash: secret.hash, allowedAddresses: config.adminAllowedAddresses, bulk: deps.bulk });
  let published = false;
  return {
    dialects: [api],
    publish(port) {
      try {
        writeServerFile(config.dataDir, {
          pid: process.pid,
          url: localUrl(config.host, port),
          database: databaseIdentity(config),
          startedAt: new Date().toISOString(),
        });
        published = true;
      } catch (err) {
        log.warn({ err }, 'cannot write the server file: `faceserver keys` will not find this server');
      }
    },
    unpublish() {
      if (!published) return;
      published = false;
      try {
        removeServerFile(config.dataDir);
      } catch (err) {
        log.warn({ err }, 'cannot remove the server file');
      }
    },
  };
}
