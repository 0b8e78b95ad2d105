// `faceserver keys create|list|revoke`: API keys in the same database the server uses (DATABASE_URL, or the
// embedded one under DATA_DIR — stop the server first in that case: one process at a time may open it).
import { DomainError } from '../domain/errors';
import type { KeyInfo, KeyService } from '../domain/keys';
import { SERVICE_KINDS } from '../domain/types';

export class UsageError extends Error {}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return v;
}

function describe(k: KeyInfo): string {
  const collection = k.collection ? ` collection=${k.collection}` : '';
  const revoked = k.revokedAt ? ` revoked=${k.revokedAt.toISOString()}` : '';
  return `${k.prefix}…  service=${k.service}${collection}  created=${k.createdAt.toISOString()}${revoked}`;
}

export const KEYS_USAGE = `usage:
  faceserver keys create --service recognition|detection|verification [--collection NAME] [--name LABEL]
      prints the new key (shown only once; only its hash is stored)
  faceserver keys list [--all]        active keys (--all: revoked too), by prefix, with service and collection
  faceserver keys revoke KEY|PREFIX`;

export async function runKeys(keys: KeyService, args: string[], io: Output): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'create': {
      const service = option(rest, '--service');
      if (!service) throw new UsageError('keys create needs --service');
      if (!(SERVICE_KINDS as readonly string[]).includes(service)) throw new UsageError(`--service must be one of ${SERVICE_KINDS.join(', ')}`);
      const collection = option(rest, '--collection');
      if (collection !== undefined && service !== 'recognition') throw new UsageError('--collection is only for recognition keys');
      const { key, info } = await keys.create(service, { collection, name: option(rest, '--name') });
      io.out(key);
      io.err(`created ${info.service} key ${info.prefix}…${info.collection ? `, owns collection "${info.collection}"` : ''}`);
      return 0;
    }
    case 'list': {
      const list = await keys.list({ includeRevoked: rest.includes('--all') });
      for (const k of list) io.out(describe(k));
      if (!list.length) io.err('no keys');
      return 0;
    }
    case 'revoke': {
      const target = rest[0];
      if (!target) throw new UsageError('keys revoke needs a key or its prefix');
      const revoked = await keys.revoke(target);
      if (!revoked.length) {
        io.err(`no active key matches "${target.slice(0, 8)}…" (or the prefix is ambiguous: give the whole key)`);
        return 1;
      }
      for (const k of revoked) io.out(`revoked ${describe(k)}`);
      return 0;
    }
    default:
      throw new UsageError(command ? `unknown keys command "${command}"` : 'keys needs a command');
  }
}

export function isUserError(err: unknown): boolean {
  return err instanceof UsageError || err instanceof DomainError;
}
