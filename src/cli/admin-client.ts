// The CLI's way to a running server: its admin API (src/admin/routes.ts) over HTTP, with the admin secret.
// The server's errors come back as the domain errors they were, so the CLI reports them alike either way.
import { DOMAIN_ERROR_CODES, DomainError, type DomainErrorCode } from '../domain/errors';
import type { KeyInfo } from '../domain/keys';
import { ADMIN_PREFIX } from '../admin/routes';
import type { CollectionInfo, KeyAdmin, KeyRequest } from '../admin/operations';

const TIMEOUT_MS = 15_000;

/** The server did not answer at all (gone, or not yet listening). */
export class ServerUnreachable extends Error {}

export type Json = Record<string, unknown>;

const toKeyInfo = (k: Json): KeyInfo => ({
  ...(k as unknown as KeyInfo),
  createdAt: new Date(k.createdAt as string),
  revokedAt: k.revokedAt ? new Date(k.revokedAt as string) : null,
});

const toCollectionInfo = (c: Json): CollectionInfo => ({ ...(c as unknown as CollectionInfo), createdAt: new Date(c.createdAt as string) });

export interface AdminEndpoint {
  baseUrl: string;
  secret: string;
  /** For messages: "the server at http://...". */
  where: string;
}

/** One admin API call; the server's errors come back as DomainErrors, no answer at all as ServerUnreachable. */
export async function callAdmin(to: AdminEndpoint, method: 'GET' | 'POST', path: string, body?: Json, timeoutMs = TIMEOUT_MS): Promise<Json> {
  let res: Response;
  try {
    res = await fetch(`${to.baseUrl}${ADMIN_PREFIX}${path}`, {
      method,
      headers: { authorization: `Bearer ${to.secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new ServerUnreachable(`${to.where} does not answer: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    throw new Error(`${to.where} answered HTTP ${res.status} with no JSON: is it a faceserver?`);
  }
  if (!res.ok) {
    const e = (json.error ?? {}) as { code?: string; message?: string; details?: Json };
    const code = (DOMAIN_ERROR_CODES as readonly string[]).includes(e.code ?? '') ? (e.code as DomainErrorCode) : 'INTERNAL';
    if (code === 'KEY_INVALID' || code === 'KEY_MISSING' || code === 'KEY_MALFORMED') {
      throw new DomainError(code, `${to.where} refused the admin secret: set ADMIN_SECRET to the one it was started with`);
    }
    throw new DomainError(code, e.message ?? `HTTP ${res.status}`, e.details ?? {});
  }
  return json;
}

export class RemoteKeyAdmin implements KeyAdmin {
  readonly where: string;

  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
  ) {
    this.where = `the server at ${baseUrl}`;
  }

  private call(method: 'GET' | 'POST', path: string, body?: Json): Promise<Json> {
    return callAdmin({ baseUrl: this.baseUrl, secret: this.secret, where: this.where }, method, path, body);
  }

  /** Confirms the server answers with this secret, and is the process the server file names. */
  async status(): Promise<{ pid: number }> {
    return (await this.call('GET', '/status')) as { pid: number };
  }

  async createKey(req: KeyRequest): Promise<{ key: string; info: KeyInfo }> {
    const r = await this.call('POST', '/keys', { ...req });
    return { key: r.key as string, info: toKeyInfo(r.info as Json) };
  }

  async listKeys(opts: { includeRevoked?: boolean } = {}): Promise<KeyInfo[]> {
    const r = await this.call('GET', `/keys${opts.includeRevoked ? '?all=true' : ''}`);
    return (r.keys as Json[]).map(toKeyInfo);
  }

  async revokeKey(keyPrefixOrUser: string): Promise<KeyInfo[]> {
    const r = await this.call('POST', '/keys/revoke', { key: keyPrefixOrUser });
    return (r.revoked as Json[]).map(toKeyInfo);
  }

  async listCollections(): Promise<CollectionInfo[]> {
    return ((await this.call('GET', '/collections')).collections as Json[]).map(toCollectionInfo);
  }

  async createCollection(name: string): Promise<CollectionInfo> {
    return toCollectionInfo((await this.call('POST', '/collections', { name })).collection as Json);
  }

  async close(): Promise<void> {}
}
