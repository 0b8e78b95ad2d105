// Reads the image a request carries, wherever the dialect lets clients put it: a multipart file, a base64
// string in a JSON, form or multipart text field (a data: URL prefix is accepted), an http(s) URL in such a
// field, or the raw request body (Content-Type image/* or application/octet-stream). URL fetches refuse
// loopback, private, link-local and other non-public addresses unless configured otherwise (checked on the
// address actually connected to, so a DNS answer cannot swap in a private one), follow redirects only as far as
// the dialect allows, and are bounded in size and time. Uploads are held in memory only
// (src/http/multipart.ts): photos are biometric data and never reach the disk.
import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import type Koa from 'koa';
import { DomainError } from '../domain/errors';
import { findParam, type ParamSource } from './params';

export interface UrlFetchPolicy {
  allowPrivate: boolean;
  allowHosts: string[];
  timeoutMs: number;
  /** Redirects followed (default 3); 0 refuses any redirect (IMAGE_URL_REFUSED): the URL must be direct. */
  maxRedirects?: number;
}

export interface ImageInputOptions {
  maxBytes: number;
  url: UrlFetchPolicy;
  /** Where base64 and URL strings are looked up (default: the request body only, not the query string). */
  valueSources?: readonly ParamSource[];
  /** The image field a raw image body stands for (e.g. "file"); absent: raw bodies are not read as images. */
  rawBodyField?: string;
}

declare module 'koa' {
  interface Request {
    /** A raw image body (Content-Type image/* or application/octet-stream), read in memory. */
    rawImage?: { bytes: Buffer; mimeType: string };
  }
}

const BODY_SOURCES: readonly ParamSource[] = ['json', 'form', 'multipart'];

const tooLarge = (maxBytes: number) => new DomainError('IMAGE_TOO_LARGE', `image is larger than ${maxBytes} bytes`, { limit: maxBytes });

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function decodeBase64Image(text: string, maxBytes: number): Buffer {
  const comma = text.startsWith('data:') ? text.indexOf(',') : -1;
  const payload = (comma >= 0 ? text.slice(comma + 1) : text).replace(/\s+/g, '');
  if (payload.length === 0 || payload.length % 4 === 1 || !BASE64_RE.test(payload)) {
    throw new DomainError('INVALID_BASE64', 'Provided value is not Base64');
  }
  if (Math.floor((payload.length * 3) / 4) > maxBytes + 2) throw tooLarge(maxBytes);
  const bytes = Buffer.from(payload, payload.includes('-') || payload.includes('_') ? 'base64url' : 'base64');
  if (bytes.length === 0) throw new DomainError('INVALID_BASE64', 'Provided value is not Base64');
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  return bytes;
}

/** An image given as a value (base64, data: URL or http(s) URL), e.g. a field nested in a dialect's JSON. */
export async function imageFromValue(value: unknown, opts: ImageInputOptions): Promise<Buffer> {
  if (typeof value !== 'string') throw new DomainError('INVALID_BASE64', 'Provided value is not Base64');
  if (/^https?:\/\//i.test(value)) return fetchImage(value, opts.maxBytes, opts.url);
  return decodeBase64Image(value, opts.maxBytes);
}

/**
 * The image in the first of `fields` the request has: a multipart file, else a base64 or URL string in the
 * body (or the dialect's value sources), else the raw body when it stands for one of these fields. Returns
 * undefined when the request has none of them (the caller decides whether that is an error).
 */
export async function readImage(ctx: Koa.Context, fields: string | readonly string[], opts: ImageInputOptions): Promise<Buffer | undefined> {
  const names = typeof fields === 'string' ? [fields] : fields;
  for (const name of names) {
    const file = ctx.request.uploads?.[name]?.[0]?.bytes;
    if (file) {
      if (file.length > opts.maxBytes) throw tooLarge(opts.maxBytes);
      return file;
    }
  }
  for (const name of names) {
    const found = findParam(ctx, name, opts.valueSources ?? BODY_SOURCES);
    if (found) return imageFromValue(found.value, opts);
  }
  const raw = ctx.request.rawImage;
  if (raw && opts.rawBodyField !== undefined && names.includes(opts.rawBodyField)) {
    if (raw.bytes.length > opts.maxBytes) throw tooLarge(opts.maxBytes);
    return raw.bytes;
  }
  return undefined;
}

const NON_PUBLIC = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC.addSubnet(addr, prefix, 'ipv4');
}
for (const [addr, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  // IPv4-mapped addresses are unwrapped and checked as IPv4 (a ::ffff:0:0/96 rule here would also match every
  // plain IPv4 address: BlockList compares IPv4 against mapped IPv6 rules).
] as const) {
  NON_PUBLIC.addSubnet(addr, prefix, 'ipv6');
}

/** True for loopback, private, link-local, multicast and other addresses that are not on the public internet. */
export function isNonPublicAddress(address: string): boolean {
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return NON_PUBLIC.check(mapped[1], 'ipv4');
  return NON_PUBLIC.check(address, family);
}

/** A dns.lookup replacement that refuses non-public answers for hosts not explicitly allowed. */
function guardedLookup(policy: UrlFetchPolicy, host: string): net.LookupFunction {
  const allowed = policy.allowPrivate || policy.allowHosts.includes(host.toLowerCase());
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const refused = !allowed && list.some((a) => isNonPublicAddress(a.address));
      if (refused || !list.length) {
        const e = Object.assign(new Error(`image URL host ${hostname} resolves to a non-public address`), { code: 'FS_REFUSED' });
        return callback(e, '', 0);
      }
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}

export async function fetchImage(rawUrl: string, maxBytes: number, policy: UrlFetchPolicy, redirects = 0): Promise<Buffer> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new DomainError('IMAGE_URL_REFUSED', 'image URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DomainError('IMAGE_URL_REFUSED', 'image URL must be http or https');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const hostAllowed = policy.allowPrivate || policy.allowHosts.includes(host.toLowerCase());
  if (net.isIP(host) && !hostAllowed && isNonPublicAddress(host)) {
    throw new DomainError('IMAGE_URL_REFUSED', `image URL host ${host} is not a public address`);
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<Buffer>((resolve, reject) => {
    const req = client.get(url, { lookup: guardedLookup(policy, host), timeout: policy.timeoutMs, headers: { accept: 'image/*' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        const maxRedirects = policy.maxRedirects ?? 3;
        if (maxRedirects === 0) return reject(new DomainError('IMAGE_URL_REFUSED', 'image URL redirects elsewhere; it must point at the image itself'));
        if (redirects >= maxRedirects) return reject(new DomainError('IMAGE_FETCH_FAILED', 'image URL redirected too many times'));
        const next = new URL(res.headers.location, url).toString();
        return fetchImage(next, maxBytes, policy, redirects + 1).then(resolve, reject);
      }
      if (status !== 200) {
        res.resume();
        return reject(new DomainError('IMAGE_FETCH_FAILED', `image URL answered HTTP ${status}`));
      }
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > maxBytes) {
        res.destroy();
        return reject(tooLarge(maxBytes));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          res.destroy();
          reject(tooLarge(maxBytes));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', (e) => reject(new DomainError('IMAGE_FETCH_FAILED', `image URL download failed: ${e.message}`)));
    });
    const deadline = setTimeout(() => req.destroy(new Error('timed out')), policy.timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'FS_REFUSED') reject(new DomainError('IMAGE_URL_REFUSED', e.message));
      else reject(new DomainError('IMAGE_FETCH_FAILED', `image URL could not be fetched: ${e.message}`));
    });
  });
}
