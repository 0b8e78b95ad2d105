// Request parameters wherever a client puts them: the query string, a JSON object body, a urlencoded form or a
// multipart text field are one lookup (each dialect says which sources it reads, in which order). Typed getters
// turn the value into what the route needs and fail with DomainError('INVALID_ARGUMENT' | 'MISSING_ARGUMENT',
// message, { param, expected, value }), which every dialect renders in its own product's shape.
//
// Values from the query string, forms and multipart fields are text; a JSON body's are JSON. Getters accept
// both (an integer may be 5 or "5"), and complex values (a box, a list of galleries) come JSON-encoded in text
// sources. A blank text value ("limit=") counts as absent for the scalar getters: clients send unset options so.
import type Koa from 'koa';
import { DomainError } from '../domain/errors';

export type ParamSource = 'query' | 'json' | 'form' | 'multipart';

/** The query string first, then whichever body the request has. */
export const DEFAULT_PARAM_SOURCES: readonly ParamSource[] = ['query', 'json', 'form', 'multipart'];

/** What kind of body a request carries (set by the body parser in src/http/app.ts). */
export type BodyKind = 'json' | 'form' | 'multipart' | 'text' | 'raw';

declare module 'koa' {
  interface Request {
    bodyKind?: BodyKind;
  }
}

export interface FoundParam {
  /** The first value (a repeated query parameter yields its first occurrence). */
  value: unknown;
  /** Every value: several for a repeated query parameter, else one. */
  values: unknown[];
  source: ParamSource;
}

function bodyRecord(ctx: Koa.Context): Record<string, unknown> | undefined {
  const body = ctx.request.body as unknown;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}

function lookIn(ctx: Koa.Context, name: string, source: ParamSource): FoundParam | undefined {
  if (source === 'query') {
    const v = ctx.query[name];
    if (v === undefined) return undefined;
    const values = Array.isArray(v) ? v : [v];
    return values.length ? { value: values[0], values, source } : undefined;
  }
  if (ctx.request.bodyKind !== source) return undefined;
  const body = bodyRecord(ctx);
  if (!body || !Object.hasOwn(body, name)) return undefined;
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  // A repeated form field arrives as an array; a JSON array is one value (the getters decide what it means).
  const values = source === 'form' && Array.isArray(v) ? v : [v];
  return values.length ? { value: values[0], values, source } : undefined;
}

/** The parameter from the first source (in `sources` order) that has it; undefined when none does. */
export function findParam(ctx: Koa.Context, name: string, sources: readonly ParamSource[] = paramSourcesOf(ctx)): FoundParam | undefined {
  for (const source of sources) {
    const found = lookIn(ctx, name, source);
    if (found) return found;
  }
  return undefined;
}

declare module 'koa' {
  interface DefaultState {
    /** The sources the current dialect reads parameters from (set when the dialect is selected). */
    paramSources?: readonly ParamSource[];
  }
}

export function paramSourcesOf(ctx: Koa.Context): readonly ParamSource[] {
  return ctx.state.paramSources ?? DEFAULT_PARAM_SOURCES;
}

// ---- errors -----------------------------------------------------------------------------------------------

export function invalidParam(param: string, expected: string, value: unknown, message?: string): DomainError {
  const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  return new DomainError('INVALID_ARGUMENT', message ?? `${param} should be ${expected}, got ${shown}`, { param, expected, value });
}

export function missingParam(param: string, expected: string, sources: readonly ParamSource[], message?: string): DomainError {
  return new DomainError('MISSING_ARGUMENT', message ?? `Required parameter '${param}' is not present`, { param, expected, sources });
}

// ---- getters ----------------------------------------------------------------------------------------------

interface CommonOptions {
  /** Throw MISSING_ARGUMENT when absent (the getter's result is then never undefined). */
  required?: boolean;
  /** Message when the parameter is required and absent (dialects word it their product's way). */
  missingMessage?: string;
}

/** The getter's result type: T when `required: true`, else T | undefined. */
type Result<T, O> = O extends { required: true } ? T : T | undefined;

interface RangeOptions extends CommonOptions {
  min?: number;
  max?: number;
  /** Message when the value is of the right type but out of range. */
  rangeMessage?: string;
}

export interface StringOptions extends CommonOptions {
  /** Trim blanks around the value (default true). */
  trim?: boolean;
  /** A blank value ("" after trimming) counts as absent (default true); false returns it. */
  blankIsAbsent?: boolean;
}

export interface ListOptions extends CommonOptions {
  /** Separator of a text value (default ","); items are trimmed and blanks dropped. */
  separator?: string;
}

const BOOLEAN_WORDS: Record<string, boolean> = {
  true: true,
  false: false,
  '1': true,
  '0': false,
  yes: true,
  no: false,
  on: true,
  off: false,
};

/** A scalar's text, trimmed; undefined when blank (absent). Non-text JSON values are returned as they are. */
function scalar(found: FoundParam | undefined): unknown {
  if (!found) return undefined;
  const v = found.value;
  if (typeof v !== 'string') return v;
  const t = v.trim();
  return t === '' ? undefined : t;
}

function checkRange(param: string, n: number, opts: RangeOptions, expected: string): number {
  const { min, max } = opts;
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    const range =
      min !== undefined && max !== undefined
        ? `between ${min} and ${max}`
        : min !== undefined
          ? `equal or greater than ${min}`
          : `equal or less than ${max}`;
    throw invalidParam(param, `${expected} ${range}`, n, opts.rangeMessage ?? `${param} should be ${range}, got ${n}`);
  }
  return n;
}

/** Typed reads of one request's parameters from the dialect's sources. */
export class Params {
  constructor(
    private readonly ctx: Koa.Context,
    readonly sources: readonly ParamSource[] = paramSourcesOf(ctx),
  ) {}

  /** The raw lookup: where the parameter is and what it holds. */
  find(name: string): FoundParam | undefined {
    return findParam(this.ctx, name, this.sources);
  }

  /** Absent: undefined, or MISSING_ARGUMENT when required. */
  private absent(name: string, expected: string, opts: CommonOptions): undefined {
    if (opts.required) throw missingParam(name, expected, this.sources, opts.missingMessage);
    return undefined;
  }

  string<O extends StringOptions>(name: string, opts?: O): Result<string, O>;
  string(name: string, opts: StringOptions = {}): string | undefined {
    const found = this.find(name);
    const v = found?.value;
    if (v === undefined) return this.absent(name, 'a string', opts);
    if (typeof v !== 'string' && typeof v !== 'number') throw invalidParam(name, 'a string', v);
    let s = String(v);
    if (opts.trim !== false) s = s.trim();
    if (s === '' && opts.blankIsAbsent !== false) return this.absent(name, 'a string', opts);
    return s;
  }

  int<O extends RangeOptions>(name: string, opts?: O): Result<number, O>;
  int(name: string, opts: RangeOptions = {}): number | undefined {
    const v = scalar(this.find(name));
    if (v === undefined) return this.absent(name, 'an integer', opts);
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^[-+]?\d{1,15}$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw invalidParam(name, 'an integer', v);
    return checkRange(name, n, opts, 'an integer');
  }

  number<O extends RangeOptions>(name: string, opts?: O): Result<number, O>;
  number(name: string, opts: RangeOptions = {}): number | undefined {
    const v = scalar(this.find(name));
    if (v === undefined) return this.absent(name, 'a number', opts);
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw invalidParam(name, 'a number', v);
    return checkRange(name, n, opts, 'a number');
  }

  /** true/false, 1/0, yes/no, on/off in any case (Python's True/False included); JSON booleans and 1/0. */
  boolean<O extends CommonOptions>(name: string, opts?: O): Result<boolean, O>;
  boolean(name: string, opts: CommonOptions = {}): boolean | undefined {
    const v = scalar(this.find(name));
    if (v === undefined) return this.absent(name, 'true or false', opts);
    if (typeof v === 'boolean') return v;
    const word = typeof v === 'string' || typeof v === 'number' ? BOOLEAN_WORDS[String(v).toLowerCase()] : undefined;
    if (word === undefined) throw invalidParam(name, 'true or false', typeof v === 'string' ? v.toLowerCase() : v);
    return word;
  }

  /** One of `values` (compared exactly; `caseInsensitive` folds the value to lower case first). */
  enum<T extends string, O extends CommonOptions & { caseInsensitive?: boolean }>(name: string, values: readonly T[], opts?: O): Result<T, O>;
  enum<T extends string>(name: string, values: readonly T[], opts: CommonOptions & { caseInsensitive?: boolean } = {}): T | undefined {
    const expected = `one of ${values.join(', ')}`;
    const v = scalar(this.find(name));
    if (v === undefined) return this.absent(name, expected, opts);
    const s = typeof v === 'string' && opts.caseInsensitive ? v.toLowerCase() : v;
    if (typeof s !== 'string' || !(values as readonly string[]).includes(s)) throw invalidParam(name, expected, v);
    return s as T;
  }

  /**
   * A list of strings: a JSON array, a repeated query parameter, a JSON-encoded array in text ('["a","b"]'),
   * or separated text ("a, b"). Items are trimmed; blank items dropped.
   */
  list<O extends ListOptions>(name: string, opts?: O): Result<string[], O>;
  list(name: string, opts: ListOptions = {}): string[] | undefined {
    const found = this.find(name);
    if (!found) return this.absent(name, 'a list', opts);
    const items: unknown[] = [];
    for (const v of found.values) {
      if (Array.isArray(v)) items.push(...v);
      else if (typeof v === 'string' && v.trim().startsWith('[')) items.push(...this.parseJsonArray(name, v));
      else if (typeof v === 'string') items.push(...v.split(opts.separator ?? ','));
      else items.push(v);
    }
    const out: string[] = [];
    for (const item of items) {
      if (typeof item !== 'string' && typeof item !== 'number') throw invalidParam(name, 'a list of strings', found.value);
      const s = String(item).trim();
      if (s !== '') out.push(s);
    }
    if (!out.length) return this.absent(name, 'a list', opts);
    return out;
  }

  /**
   * A complex value: as it is in a JSON body; JSON-decoded from a text source (a query string or form field
   * carrying '{"x":1}' or '[1,2,3,4]'). The caller checks its shape.
   */
  json<O extends CommonOptions>(name: string, opts?: O): Result<unknown, O>;
  json(name: string, opts: CommonOptions = {}): unknown {
    const found = this.find(name);
    if (!found) return this.absent(name, 'a JSON value', opts);
    if (found.source === 'json') return found.value;
    const text = scalar(found);
    if (text === undefined) return this.absent(name, 'a JSON value', opts);
    try {
      return JSON.parse(String(text));
    } catch {
      throw invalidParam(name, 'a JSON value', text);
    }
  }

  private parseJsonArray(name: string, text: string): unknown[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalidParam(name, 'a list', text);
    }
    if (!Array.isArray(parsed)) throw invalidParam(name, 'a list', text);
    return parsed;
  }
}

/** The parameters of this request, read from the current dialect's sources (or the given ones). */
export function params(ctx: Koa.Context, sources?: readonly ParamSource[]): Params {
  return new Params(ctx, sources);
}
