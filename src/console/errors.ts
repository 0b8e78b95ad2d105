// The console API's errors: {"error": {"code", "message", "details"}} with the neutral HTTP status of each
// domain and HTTP code, plus the console's own (signing in, sessions, CSRF, enrolment quality).
import { HTTP_STATUS, tableRenderer, type ErrorInfo, type ErrorTable, ERROR_CODES } from '../http/errors';

export type ConsoleErrorCode =
  | 'SIGN_IN_REQUIRED' // no session, or it expired
  | 'SIGN_IN_FAILED' // wrong secret, user or password
  | 'TOO_MANY_ATTEMPTS' // sign-in throttled; details.retryAfterSeconds
  | 'CSRF' // an unsafe request without the session's token, or from another site
  | 'LOW_QUALITY' // an enrolment photo whose face is too small, blurred or turned; details.reasons
  | 'NOT_BUILT'; // the front-end bundle is missing (npm run build:console)

const STATUS: Record<ConsoleErrorCode, number> = {
  SIGN_IN_REQUIRED: 401,
  SIGN_IN_FAILED: 401,
  TOO_MANY_ATTEMPTS: 429,
  CSRF: 403,
  LOW_QUALITY: 422,
  NOT_BUILT: 503,
};

export class ConsoleError extends Error {
  override name = 'ConsoleError';
  constructor(
    readonly code: ConsoleErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const table = Object.fromEntries(
  ERROR_CODES.map((code) => [code, (e: ErrorInfo) => ({ status: HTTP_STATUS[code], body: { error: { code, message: e.message, details: e.details } } })]),
) as ErrorTable;

export const renderConsoleError = tableRenderer(table, {
  own: (err) => {
    if (!(err instanceof ConsoleError)) return undefined;
    const retry = err.details.retryAfterSeconds;
    return {
      status: STATUS[err.code],
      body: { error: { code: err.code, message: err.message, details: err.details } },
      headers: typeof retry === 'number' ? { 'Retry-After': String(retry) } : undefined,
    };
  },
});
