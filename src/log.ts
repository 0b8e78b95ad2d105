// Structured JSON logs (pino). Photos, templates and embeddings are never logged: log ids and sizes only.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'faceserver' }, redact: ['req.headers["x-api-key"]', 'req.headers.authorization'] });
}
