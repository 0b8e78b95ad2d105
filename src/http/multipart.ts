// multipart/form-data read into memory by busboy: photos are small and biometric, so they never touch the
// disk. The body limit, the per-file limit and the part counts stop an oversized or abusive upload as soon as
// it crosses them; the rest of the upload is then drained unread so the error response still reaches a client
// that is busy sending.
import type { Readable } from 'node:stream';
import busboy from 'busboy';
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

export const tooLarge = (what: string, limit: number) => new HttpError('BODY_TOO_LARGE', `${what} is larger than ${limit} bytes`, { limit });
const malformed = (why: string) => new HttpError('MALFORMED_BODY', `malformed multipart body: ${why}`);

/**
 * Counts the parts a body delimits ("\r\n--boundary" lines before the closing one), so a part busboy skips
 * silently (not form-data, no Content-Disposition, junk after its boundary) still makes the body malformed
 * instead of vanishing. Holds back only the bytes that may start a delimiter split across chunks.
 */
class PartCounter {
  private readonly delimiter: Buffer;
  private carry: Buffer = Buffer.from('\r\n'); // so a boundary on the very first line is found too
  parts = 0;
  closed = false;

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let from = 0;
    for (;;) {
      const at = data.indexOf(this.delimiter, from);
      const after = at + this.delimiter.length;
      if (at < 0 || after + 2 > data.length) {
        // Keep what may be (or follow) a delimiter: a partial match, or a full one whose next two bytes
        // ("--" closes the body) have not arrived.
        const keep = at >= 0 ? at : Math.max(from, data.length - this.delimiter.length + 1);
        this.carry = Buffer.from(data.subarray(keep));
        return;
      }
      if (data[after] === 0x2d && data[after + 1] === 0x2d) {
        this.closed = true;
        return;
      }
      this.parts++;
      from = after;
    }
  }
}

/** The boundary parameter of a multipart/form-data content type. */
export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  if (!m) throw malformed('no boundary in the content type');
  return m[1] ?? m[2];
}

export interface MultipartRequest {
  contentType: string;
  /** The declared Content-Length, when there is one (checked against the body limit before reading). */
  contentLength?: number;
}

/**
 * Reads a multipart body from `stream` (the request). Resolves with its fields and files, or rejects with
 * BODY_TOO_LARGE / MALFORMED_BODY as soon as the body shows it is one.
 */
export function readMultipart(stream: Readable, request: MultipartRequest, limits: MultipartLimits): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    // Maps while reading: a part named "__proto__" must be an ordinary name, not the object's prototype.
    const fields = new Map<string, string>();
    const files = new Map<string, Upload[]>();
    let parser: busboy.Busboy;
    let counter: PartCounter;
    let settled = false;
    let received = 0;
    let seen = 0;
    let openFiles = 0;
    let ended = false;

    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      // Not from inside busboy's own event (it goes on using its state after emitting); nothing is fed to it anymore.
      if (parser) process.nextTick(() => parser.destroy());
      stream.resume(); // drain the rest unread
      reject(err);
    };
    const finish = () => {
      if (settled || !ended || openFiles > 0) return;
      if (!counter.closed) return fail(malformed('the body ended before its closing boundary'));
      if (counter.parts !== seen) return fail(malformed('a part is not a named form-data part'));
      settled = true;
      resolve({ fields: Object.fromEntries(fields), files: Object.fromEntries(files) });
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBodyBytes) return fail(tooLarge('request body', limits.maxBodyBytes));
      counter.push(chunk);
      parser.write(chunk);
    };

    try {
      if (request.contentLength !== undefined && request.contentLength > limits.maxBodyBytes) throw tooLarge('request body', limits.maxBodyBytes);
      counter = new PartCounter(boundaryOf(request.contentType));
      parser = busboy({
        headers: { 'content-type': request.contentType },
        limits: {
          // busboy flags a file that reaches fileSize as truncated; one byte more makes it mean "crossed the limit".
          fileSize: limits.maxFileBytes + 1,
          files: limits.maxFiles,
          fields: limits.maxFields,
          fieldSize: limits.maxBodyBytes,
        },
      });
    } catch (err) {
      stream.resume();
      return reject(err instanceof HttpError ? err : malformed((err as Error).message));
    }

    parser.on('field', (name, value, info) => {
      seen++;
      if (!name) return fail(malformed('a part has no name'));
      if (info.valueTruncated) return fail(tooLarge(`field "${name}"`, limits.maxBodyBytes));
      if (!fields.has(name)) fields.set(name, value);
    });
    parser.on('file', (name, file, info) => {
      seen++;
      if (!name) {
        file.resume();
        return fail(malformed('a part has no name'));
      }
      openFiles++;
      const chunks: Buffer[] = [];
      file.on('data', (chunk: Buffer) => chunks.push(chunk));
      file.on('limit', () => fail(tooLarge(`file "${name}"`, limits.maxFileBytes)));
      file.on('error', (err) => fail(malformed(err.message)));
      file.on('end', () => {
        openFiles--;
        if (!file.truncated) {
          const upload = { filename: info.filename ?? '', mimeType: info.mimeType || null, bytes: Buffer.concat(chunks) };
          const list = files.get(name);
          if (list) list.push(upload);
          else files.set(name, [upload]);
        }
        finish();
      });
    });
    parser.on('filesLimit', () => fail(malformed(`more than ${limits.maxFiles} files`)));
    parser.on('fieldsLimit', () => fail(malformed(`more than ${limits.maxFields} fields`)));
    parser.on('error', (err: Error) => fail(malformed(err.message.replace(/^Multipart: /, '').toLowerCase())));
    parser.on('close', () => {
      ended = true;
      finish();
    });

    stream.on('data', onData);
    stream.on('end', () => {
      if (!settled) parser.end();
    });
    stream.on('error', (err) => fail(malformed(err.message)));
    stream.on('close', () => {
      if (!settled && !stream.readableEnded) fail(malformed('the client closed the request'));
    });
  });
}
