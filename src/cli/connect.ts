// How the CLI finds a running server on this configuration's database: DATA_DIR/server.json, checked by a call
// with the admin secret. Undefined when none runs (no file, a stale one, or another database).
import type { Config } from '../config';
import { databaseIdentity, readAdminSecret, readServerFile } from '../admin/local-files';
import { RemoteKeyAdmin, ServerUnreachable, type AdminEndpoint } from './admin-client';

export async function findRunningServer(config: Config): Promise<AdminEndpoint | undefined> {
  const server = readServerFile(config.dataDir);
  if (!server || server.database !== databaseIdentity(config)) return undefined;
  const secret = readAdminSecret(config);
  const remote = new RemoteKeyAdmin(server.url, secret ?? '');
  try {
    await remote.status();
    return { baseUrl: server.url, secret: secret ?? '', where: remote.where };
  } catch (err) {
    if (!(err instanceof ServerUnreachable)) {
      if (secret === undefined) {
        throw new Error(`a server (pid ${server.pid}) runs on this database at ${server.url}, but no admin secret is at hand: set ADMIN_SECRET`, { cause: err });
      }
      throw err;
    }
    return undefined; // a stale server file: the database is free
  }
}
