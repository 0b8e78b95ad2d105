// multipart/form-data read into memory: photos are small and biometric, so they never touch the disk. The
// body is gathered into one buffer (sized from Content-Length when given) and parsed as it arrives, so the
// body limit and the per-file limit stop an oversized upload as soon as it crosses them. Parts are views into
// that buffer: no copies.
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors';

export interface Upload {
  filename: string;
  mimeType: string | null;
  bytes: Buffer;
}

export interface MultipartBody {
  /** Text parts (no filename), first value per name. */
  fields: Record<string, string>;
  /** File parts by field name, in request order. */
  files: Record<string, Upload[]>;
}

export interface MultipartLimits {
  maxBodyBytes: number;
  maxFileBytes: number;
  maxFiles: number;
  maxFields: number;
}

const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

export const tooLarge = (what: string, limit: number) =>
  new HttpError(413, 'BODY_TOO_LARGE', `${what} is larger than ${limit} bytes`, { limit });
const malformed = (why: string) => new HttpError(400, 'MALFORMED_BODY', `malformed multipart body: ${why}`);

/** The boundary parameter of a multipart/form-data content type. */
export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  if (!m) throw malformed('no boundary in the content type');
  return m[1] ?? m[2];
}

/** A parameter (name, filename) of a Content-Disposition header; undefined when absent. */
function dispositionParam(header: string, param: string): string | undefined {
  const m = new RegExp(`;\\s*${param}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i').exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

interface PartHeaders {
  name: string;
  filename?: string;
  mimeType: string | null;
}

function parsePartHeaders(text: string): PartHeaders {
  let disposition = '';
  let mimeType: string | null = null;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') mimeType = value;
  }
  if (!/^form-data\s*(;|$)/i.test(disposition)) throw malformed('a part is not form-data');
  const name = dispositionParam(disposition, 'name');
  if (name === undefined) throw malformed('a part has no name');
  return { name, filename: dispositionParam(disposition, 'filename'), mimeType };
}

type State = 'preamble' | 'boundary' | 'headers' | 'body' | 'done';

/** The incremental parser over one growing buffer. */
export class MultipartParser {
  private data: Buffer;
  private length = 0;
  private pos = 0;
  private state: State = 'preamble';
  private part: PartHeaders | undefined;
  private partStart = 0;
  private readonly firstBoundary: Buffer;
  private readonly delimiter: Buffer;
  private fieldCount = 0;
  private fileCount = 0;
  readonly body: MultipartBody = { fields: {}, files: {} };

  constructor(
    boundary: string,
    private readonly limits: MultipartLimits,
    expectedBytes?: number,
  ) {
    this.firstBoundary = Buffer.from(`--${boundary}`);
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
    if (expectedBytes !== undefined && expectedBytes > limits.maxBodyBytes) throw tooLarge('request body', limits.maxBodyBytes);
    this.data = Buffer.allocUnsafe(expectedBytes ?? Math.min(64 * 1024, limits.maxBodyBytes));
  }

  push(chunk: Buffer): void {
    if (this.state === 'done') return; // the epilogue is ignored
    const needed = this.length + chunk.length;
    if (needed > this.limits.maxBodyBytes) throw tooLarge('request body', this.limits.maxBodyBytes);
    if (needed > this.data.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.limits.maxBodyBytes, Math.max(needed, this.data.length * 2)));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    chunk.copy(this.data, this.length);
    this.length = needed;
    this.advance();
  }

  /** The parsed body; throws when the stream ended before the closing boundary. */
  end(): MultipartBody {
    if (this.state !== 'done') throw malformed('the body ended before its closing boundary');
    return this.body;
  }

  private advance(): void {
    for (;;) {
      const before = this.state;
      if (this.state === 'preamble') this.skipPreamble();
      else if (this.state === 'boundary') this.afterBoundary();
      else if (this.state === 'headers') this.readHeaders();
      else if (this.state === 'body') this.readBody();
      if (this.state === before || this.state === 'done') return;
    }
  }

  private skipPreamble(): void {
    const view = this.data.subarray(0, this.length);
    if (this.length >= this.firstBoundary.length && view.subarray(0, this.firstBoundary.length).equals(this.firstBoundary)) {
      this.pos = this.firstBoundary.length;
      this.state = 'boundary';
      return;
    }
    const at = view.indexOf(this.delimiter);
    if (at >= 0) {
      this.pos = at + this.delimiter.length;
      this.state = 'boundary';
    } else if (this.length > MAX_HEADER_BYTES) {
      throw malformed('no boundary found');
    }
  }

  /** After a boundary: "--" closes the body, else optional blanks and CRLF open a part. */
  private afterBoundary(): void {
    let i = this.pos;
    if (this.length - i < 2) return;
    if (this.data[i] === 0x2d && this.data[i + 1] === 0x2d) {
      this.state = 'done';
      return;
    }
    while (i < this.length && (this.data[i] === 0x20 || this.data[i] === 0x09)) i++;
    if (this.length - i < 2) return;
    if (this.data[i] !== 0x0d || this.data[i + 1] !== 0x0a) throw malformed('bad boundary line');
    this.pos = i + 2;
    this.state = 'headers';
  }

  private readHeaders(): void {
    const view = this.data.subarray(0, this.length);
    let bodyStart: number;
    if (this.length - this.pos >= 2 && view[this.pos] === 0x0d && view[this.pos + 1] === 0x0a) {
      bodyStart = this.pos + CRLF.length; // no headers at all
    } else {
      const end = view.indexOf(HEADERS_END, this.pos);
      if (end < 0) {
        if (this.length - this.pos > MAX_HEADER_BYTES) throw malformed('part headers too long');
        return;
      }
      bodyStart = end + HEADERS_END.length;
    }
    this.part = parsePartHeaders(view.toString('utf8', this.pos, bodyStart));
    if (this.part.filename !== undefined) {
      if (++this.fileCount > this.limits.maxFiles) throw malformed(`more than ${this.limits.maxFiles} files`);
    } else if (++this.fieldCount > this.limits.maxFields) {
      throw malformed(`more than ${this.limits.maxFields} fields`);
    }
    this.partStart = bodyStart;
    this.pos = bodyStart;
    this.state = 'body';
  }

  private readBody(): void {
    const view = this.data.subarray(0, this.length);
    const part = this.part!;
    const end = view.indexOf(this.delimiter, this.pos);
    if (end < 0) {
      // A delimiter may straddle the next chunk: rescan only the tail that could hold its start.
      this.pos = Math.max(this.partStart, this.length - this.delimiter.length + 1);
      if (part.filename !== undefined && this.pos - this.partStart > this.limits.maxFileBytes) {
        throw tooLarge(`file "${part.name}"`, this.limits.maxFileBytes);
      }
      return;
    }
    const bytes = this.data.subarray(this.partStart, end);
    if (part.filename !== undefined) {
      if (bytes.length > this.limits.maxFileBytes) throw tooLarge(`file "${part.name}"`, this.limits.maxFileBytes);
      (this.body.files[part.name] ??= []).push({ filename: part.filename, mimeType: part.mimeType, bytes });
    } else if (!(part.name in this.body.fields)) {
      this.body.fields[part.name] = bytes.toString('utf8');
    }
    this.part = undefined;
    this.pos = end + this.delimiter.length;
    this.state = 'boundary';
  }
}

/**
 * Reads a multipart request. On a failure the rest of the upload is drained unread, so the error response
 * still reaches a client that is busy sending.
 */
export function readMultipart(req: IncomingMessage, contentType: string, limits: MultipartLimits): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    let parser: MultipartParser;
    try {
      const declared = req.headers['content-length'];
      parser = new MultipartParser(boundaryOf(contentType), limits, declared === undefined ? undefined : Number(declared));
    } catch (err) {
      req.resume();
      return reject(err);
    }
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        parser.push(chunk);
      } catch (err) {
        fail(err);
      }
    });
    req.on('end', () => {
      try {
        if (!failed) resolve(parser.end());
      } catch (err) {
        fail(err);
      }
    });
    req.on('error', (err) => fail(malformed(err.message)));
    req.on('close', () => {
      if (!req.complete) fail(malformed('the client closed the request'));
    });
  });
}
