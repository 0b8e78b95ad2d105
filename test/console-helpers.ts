// Helpers for the console's tests: the bundle built, a signed-in API client (cookie + CSRF token), and images
// that give each enrolment outcome.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { REPO_ROOT } from './support/server';
import { FACEDATA, photo } from './support/compreface';

export const ADMIN_SECRET = 'console-test-admin-secret-0123456789';

/** Builds build/console (what bin/setup and npm test do) unless it is newer than every web source. */
export function ensureConsoleBuilt(): void {
  const out = path.join(REPO_ROOT, 'build/console/app.js');
  const newest = (dir: string): number =>
    Math.max(...fs.readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs)));
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs > newest(path.join(REPO_ROOT, 'web'))) return;
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build-console.mjs')], { stdio: 'pipe' });
}

export interface Reply {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** The console's JSON API as its page calls it: the session cookie, and the CSRF token on changes. */
export class ConsoleClient {
  cookie = '';
  csrf = '';

  constructor(readonly base: string) {}

  async signIn(body: Record<string, string> = { secret: ADMIN_SECRET }): Promise<Reply> {
    const r = await this.call('POST', 'session', { json: body });
    if (r.status === 200) {
      this.cookie = r.headers.get('set-cookie')!.split(';')[0];
      this.csrf = r.body.csrfToken;
    }
    return r;
  }

  async call(method: string, p: string, opts: { json?: unknown; form?: FormData; headers?: Record<string, string>; csrf?: boolean } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(this.cookie ? { cookie: this.cookie } : {}), ...opts.headers };
    if (method !== 'GET' && opts.csrf !== false && this.csrf) headers['x-csrf-token'] = this.csrf;
    let body: BodyInit | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) body = opts.form;
    const res = await fetch(`${this.base}/console/api/${p}`, { method, headers, body });
    const type = res.headers.get('content-type') ?? '';
    const payload = type.includes('json') ? await res.json() : res.status === 204 ? undefined : Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body: payload };
  }

  get(p: string) {
    return this.call('GET', p);
  }

  upload(p: string, files: Record<string, Buffer>, fields: Record<string, string> = {}) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    for (const [k, v] of Object.entries(files)) form.append(k, new Blob([new Uint8Array(v)], { type: 'image/jpeg' }), `${k}.jpg`);
    return this.call('POST', p, { form });
  }
}

/** Photos that give each enrolment outcome but "enrolled": a blank image, a group photo, a blurred face. */
export async function outcomePhotos(): Promise<{ noFace: Buffer; severalFaces: Buffer; lowQuality: Buffer; unreadable: Buffer }> {
  const someone = photo(firstLfwPhoto());
  return {
    noFace: await sharp({ create: { width: 320, height: 240, channels: 3, background: '#8a8a8a' } }).jpeg().toBuffer(),
    severalFaces: photo('groups/dlib_2008_001322.jpg'),
    lowQuality: await sharp(someone).blur(6).jpeg().toBuffer(),
    unreadable: Buffer.from('this is not an image at all, just text'),
  };
}

export function firstLfwPhoto(): string {
  const dir = fs.readdirSync(path.join(FACEDATA, 'lfw')).sort()[0];
  return `lfw/${dir}/${fs.readdirSync(path.join(FACEDATA, 'lfw', dir)).sort()[0]}`;
}
