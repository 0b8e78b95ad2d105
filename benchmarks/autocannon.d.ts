// The part of autocannon's API that the benchmarks use (the package ships no types).
declare module 'autocannon' {
  export interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** Called with each answer to this request; the context is the connection's, shared by its requests. */
    onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
    /** Rewrites the request before it is sent (e.g. from the context). */
    setupRequest?: (req: Request, context: Record<string, unknown>) => Request;
  }
  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
  }
  export interface Result {
    requests: Histogram & { total: number; sent: number };
    latency: Histogram;
    throughput: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
  }
  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    timeout?: number;
    requests?: Request[];
    /** Requests per second over all connections. */
    overallRate?: number;
    /** Called with each connection's client (its 'response' event: status, bytes, latency ms). */
    setupClient?: (client: { on(event: 'response', fn: (status: number, bytes: number, ms: number) => void): void }) => void;
  }
  export interface Instance extends Promise<Result> {
    on(event: 'reqError' | 'timeout', fn: () => void): this;
  }
  function autocannon(opts: Options): Instance;
  export default autocannon;
}
