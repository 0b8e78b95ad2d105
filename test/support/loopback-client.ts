// One HTTP request from a chosen loopback address (127.0.0.2 is a client of its own to the server), for the
// tests of what the server does per client address (the failed-key throttle, trusted proxies).
import http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The JSON body ({} when empty; { text } when not JSON). */
  body: Record<string, unknown>;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The local address to send from (default 127.0.0.1). */
  from?: string;
  /** An X-Forwarded-For header, when given. */
  forwarded?: string;
}

export function sendFrom(url: string, opts: SendOptions = {}): Promise<Answer> {
  const headers = { ...opts.headers, ...(opts.forwarded !== undefined ? { 'x-forwarded-for': opts.forwarded } : {}) };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers, localAddress: opts.from ?? '127.0.0.1', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let body: Record<string, unknown>;
        try {
          body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          body = { text };
        }
        resolve({ status: res.statusCode!, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
