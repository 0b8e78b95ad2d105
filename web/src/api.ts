// The console's calls to its server: relative URLs (the page's <base> carries any proxy prefix), the session
// cookie sent by the browser, the CSRF token on every change. A 401 anywhere means the session is gone: the
// app shows the sign-in form again.

export interface SessionInfo {
  user: string;
  csrfToken: string;
  signedInAt: string;
  expiresAt: string;
  idleExpiresAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: (reason: string) => void = () => {};

export function setSession(s: SessionInfo | null): void {
  csrfToken = s?.csrfToken ?? '';
}

export function whenSignedOut(handler: (reason: string) => void): void {
  onSignedOut = handler;
}

async function parse(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined;
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

function failure(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return new ApiError(status, e?.code ?? `HTTP_${status}`, e?.message ?? `the server answered ${status}`, body);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`api/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const parsed = await parse(res);
  if (res.status === 401 && path !== 'session') onSignedOut('Your session has ended: sign in again.');
  if (!res.ok) throw failure(res.status, parsed);
  return parsed as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * A multipart upload with progress (fetch has no upload progress): resolves with the status and parsed body,
 * whatever the status, so callers can show a per-file outcome.
 */
export function upload(path: string, form: FormData, onProgress?: (fraction: number) => void): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `api/${path}`);
    xhr.setRequestHeader('x-csrf-token', csrfToken);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress?.(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status === 401) onSignedOut('Your session has ended: sign in again.');
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error('the upload failed (network)'));
    xhr.send(form);
  });
}

/** An upload whose non-2xx answer is an error (search, verify). */
export async function uploadJson<T>(path: string, form: FormData, onProgress?: (fraction: number) => void): Promise<T> {
  const r = await upload(path, form, onProgress);
  if (r.status < 200 || r.status >= 300) throw failure(r.status, r.body);
  return r.body as T;
}

// ---- the shapes the server answers with

export interface Collection {
  id: number;
  name: string;
  faces: number;
  persons: number;
  inMemory: boolean;
  matcherSize: number | null;
  createdAt: string;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PersonRow {
  id: number;
  name: string;
  surname: string | null;
  ownerCollectionId: number | null;
  faces: number;
  thumbnailFaceId: number | null;
  collectionIds: number[];
  recognitionCount: number;
  lastRecognizedAt: string | null;
  createdAt: string;
}

export interface Person {
  id: number;
  uuid: string;
  name: string;
  surname: string | null;
  patronymic: string | null;
  department: string | null;
  comment: string | null;
  ownerCollectionId: number | null;
  attributes: Record<string, unknown>;
  recognitionCount: number;
  lastRecognizedAt: string | null;
  createdAt: string;
}

export interface Face {
  id: number;
  uuid: string;
  personId: number | null;
  collectionIds: number[];
  box: Box | null;
  photoKept: boolean;
  quality: number | null;
  estimated: { age?: { years: number }; gender?: { value: string; probability: number }; pose?: { yaw: number; pitch: number; roll: number } } | null;
  data: Record<string, unknown>;
  createdAt: string;
}

export interface EventRow {
  id: number;
  occurredAt: string;
  cursor: string;
  cameraId: number | null;
  cameraName: string | null;
  collectionId: number | null;
  collectionName: string | null;
  faceId: number | null;
  personId: number | null;
  personName: string | null;
  cosine: number | null;
  far: number | null;
  verdict: string | null;
  known: boolean;
  box: Box | null;
  dialect: string | null;
  endpoint: string | null;
  requestId: string | null;
  hasThumbnail: boolean;
}

export interface Match {
  faceId: number;
  personId: number | null;
  personName: string | null;
  cosine: number;
  far: number;
  match: boolean;
}

export interface KeyInfo {
  id: number;
  prefix: string;
  kind: string;
  user: string | null;
  name: string | null;
  scopes: string[];
  collections: string[];
  createdAt: string;
  revokedAt: string | null;
}

export interface KindRules {
  collections: 'owns' | 'none' | 'optional';
  defaultScopes: string[];
  secret: 'uuid' | 'random';
  login: boolean;
}
