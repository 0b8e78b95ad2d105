// The error every layer throws toward HTTP. Each dialect renders it in its own product's error format by
// setting ctx.state.renderError for its routes; the default renders {"error": {"code", "message"}}.
import type Koa from 'koa';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface RenderedError {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A dialect's mapping from any thrown value to its own status and JSON body. */
export type ErrorRenderer = (err: unknown) => RenderedError;

export const defaultRenderError: ErrorRenderer = (err) => {
  if (err instanceof HttpError) return { status: err.status, body: { error: { code: err.code, message: err.message } } };
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
};

export function errorMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const render: ErrorRenderer = ctx.state.renderError ?? defaultRenderError;
      const { status, body, headers } = render(err);
      ctx.status = status;
      ctx.body = body;
      if (headers) ctx.set(headers);
      if (status >= 500) ctx.log.error({ err }, 'request failed');
      else ctx.log.info({ status, code: (err as { code?: unknown }).code }, 'request rejected');
    }
  };
}
