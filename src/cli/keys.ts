// `faceserver keys create|list|revoke` and `faceserver collections list|create`. Arguments are parsed strictly
// (node:util parseArgs: an unknown or misspelt option is a usage error, before anything is touched); the
// parsed command then runs against a KeyAdmin: a running server's admin API, or the database itself.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SCOPES, isScope, type KeyInfo } from '../domain/keys';
import { KEY_KINDS } from '../dialects/key-kinds';
import type { CollectionInfo, KeyAdmin } from '../admin/operations';

export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** A parsed command, ready to run. `help`: print the usage and succeed, touching nothing. */
export type Command = { help: string } | { run(admin: KeyAdmin, io: Output): Promise<number> };

const COMPREFACE_SERVICES = ['recognition', 'detection', 'verification'];

const USAGE = {
  create: `  faceserver keys create --kind KIND [--scope SCOPE]... [--collection NAME]... [--user NAME] [--name LABEL]
      KIND: ${Object.keys(KEY_KINDS).join(', ')} (--service recognition|detection|verification is the same as --kind)
      SCOPE: ${SCOPES.join(', ')} (repeat, or separate by commas; default: the kind's own)
      --collection: a collection the key may see, created if absent (repeat; the first is its default)
      --user: the HTTP Basic user name (faceintellect) or OAuth2 client id (scans); generated if absent
      prints the secret (shown only once: only its hash is stored)`,
  list: `  faceserver keys list [--all]          active keys (--all: revoked too), by prefix`,
  revoke: `  faceserver keys revoke KEY|PREFIX|USER`,
  collections: `  faceserver collections list
  faceserver collections create NAME`,
};

export const KEYS_USAGE = `${USAGE.create}\n${USAGE.list}\n${USAGE.revoke}\n${USAGE.collections}`;

/** parseArgs, strict, with its errors as usage errors naming the option. */
function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, positionals: number, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals > 0, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''), usage);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`, usage);
  return parsed;
}

function describeKey(k: KeyInfo): string {
  const parts = [`kind=${k.kind}`];
  if (k.user) parts.push(`user=${k.user}`);
  if (k.collections.length) parts.push(`collections=${k.collections.join(',')}`);
  parts.push(`scopes=${k.scopes.join(',')}`);
  if (k.name) parts.push(`name=${JSON.stringify(k.name)}`);
  parts.push(`created=${k.createdAt.toISOString()}`);
  if (k.revokedAt) parts.push(`revoked=${k.revokedAt.toISOString()}`);
  return `${k.prefix}…  ${parts.join(' ')}`;
}

const describeCollection = (c: CollectionInfo) => `${c.name}  id=${c.id} faces=${c.faces} created=${c.createdAt.toISOString()}`;

function parseCreate(args: string[]): Command {
  const usage = USAGE.create;
  const { values } = parse(
    args,
    {
      kind: { type: 'string' },
      service: { type: 'string' },
      scope: { type: 'string', multiple: true },
      collection: { type: 'string', multiple: true },
      user: { type: 'string' },
      name: { type: 'string' },
    },
    0,
    usage,
  );
  if (values.help) return { help: usage };
  if (values.kind !== undefined && values.service !== undefined) throw new UsageError('give --kind or --service, not both', usage);
  if (values.service !== undefined && !COMPREFACE_SERVICES.includes(values.service)) {
    throw new UsageError(`--service must be one of ${COMPREFACE_SERVICES.join(', ')} (other kinds: --kind)`, usage);
  }
  const kind = values.kind ?? values.service;
  if (kind === undefined) throw new UsageError('keys create needs --kind (or --service)', usage);
  if (!Object.hasOwn(KEY_KINDS, kind)) throw new UsageError(`--kind must be one of ${Object.keys(KEY_KINDS).join(', ')}`, usage);
  const scopes = values.scope?.flatMap((s) => s.split(',')).map((s) => s.trim());
  const badScope = scopes?.find((s) => !isScope(s));
  if (badScope !== undefined) throw new UsageError(`unknown scope "${badScope}" (one of ${SCOPES.join(', ')})`, usage);
  const rules = KEY_KINDS[kind as keyof typeof KEY_KINDS];
  if (values.collection && rules.collections === 'none') throw new UsageError(`--collection: ${kind} keys see no collections`, usage);
  if (values.user !== undefined && !rules.login) throw new UsageError(`--user: ${kind} keys have no user name or client id`, usage);
  return {
    async run(admin, io) {
      const { key, info } = await admin.createKey({ kind, scopes, collections: values.collection, user: values.user, name: values.name });
      io.out(key);
      const names = info.collections.map((c) => `"${c}"`);
      const sees = names.length === 1 ? `, owns collection ${names[0]}` : names.length ? `, sees collections ${names.join(', ')} (default ${names[0]})` : '';
      const user = info.user ? `, user "${info.user}"` : '';
      io.err(`created ${info.kind} key ${info.prefix}…${user}${sees}, scopes ${info.scopes.join(',')}, through ${admin.where}`);
      return 0;
    },
  };
}

/** Parses `keys ...` or `collections ...` arguments; UsageError when they do not make a command. */
export function parseCommand(group: 'keys' | 'collections', args: string[]): Command {
  const [verb, ...rest] = args;
  if (group === 'collections') {
    const usage = USAGE.collections;
    if (verb === 'list') {
      if (parse(rest, {}, 0, usage).values.help) return { help: usage };
      return {
        async run(admin, io) {
          const list = await admin.listCollections();
          for (const c of list) io.out(describeCollection(c));
          if (!list.length) io.err('no collections');
          return 0;
        },
      };
    }
    if (verb === 'create') {
      const { values, positionals } = parse(rest, {}, 1, usage);
      if (values.help) return { help: usage };
      const name = positionals[0];
      if (name === undefined) throw new UsageError('collections create needs a NAME', usage);
      return {
        async run(admin, io) {
          const c = await admin.createCollection(name);
          io.out(describeCollection(c));
          return 0;
        },
      };
    }
    throw new UsageError(verb ? `unknown collections command "${verb}"` : 'collections needs a command: list or create', usage);
  }
  switch (verb) {
    case 'create':
      return parseCreate(rest);
    case 'list': {
      const { values } = parse(rest, { all: { type: 'boolean' } }, 0, USAGE.list);
      if (values.help) return { help: USAGE.list };
      return {
        async run(admin, io) {
          const list = await admin.listKeys({ includeRevoked: values.all });
          for (const k of list) io.out(describeKey(k));
          if (!list.length) io.err('no keys');
          return 0;
        },
      };
    }
    case 'revoke': {
      const { values, positionals } = parse(rest, {}, 1, USAGE.revoke);
      if (values.help) return { help: USAGE.revoke };
      const target = positionals[0];
      if (!target) throw new UsageError('keys revoke needs a key, its prefix or its user', USAGE.revoke);
      return {
        async run(admin, io) {
          const revoked = await admin.revokeKey(target);
          if (!revoked.length) {
            io.err(`no active key matches "${target.slice(0, 8)}…" (or several do: give the whole key)`);
            return 1;
          }
          for (const k of revoked) io.out(`revoked ${describeKey(k)}`);
          return 0;
        },
      };
    }
    default:
      throw new UsageError(verb ? `unknown keys command "${verb}"` : 'keys needs a command: create, list or revoke', KEYS_USAGE);
  }
}
