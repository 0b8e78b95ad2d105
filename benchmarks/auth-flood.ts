// `npm run bench:auth-flood`: legitimate recognitions during a flood of bad keys (issue 18, part 6), with the
// failed-authentication throttle on (AUTH_FAILURES_PER_ADDRESS, default 20 a minute) and off (0). The real server on
// loopback with 20 LFW people enrolled; two clients, each a child process (benchmarks/lib/auth-flood-child.ts):
//   legit: a closed loop of CompreFace recognitions of the people's probe photos with a valid key, from 127.0.0.2;
//   flood: autocannon, unknown keys (well-formed UUIDs, so each reaches the key lookup) from 127.0.0.1, as fast as
//          answered (or at --flood-rate requests/s).
// For each setting: the legitimate client alone, then during the flood. Prints one JSON line per phase (latency
// percentiles of the recognitions, the flood's answers by status, keys read from the database, the database
// pool's peak queue) and a Markdown table.
//
//   npm run bench:auth-flood -- [--seconds 15] [--legit-connections 2] [--flood-connections 16] [--flood-rate 0]
//   DATABASE_URL=postgres://... npm run bench:auth-flood   (an empty database of its own: both servers use it in
//   turn, the second enrolling the people again beside the first's)
import { fork } from 'node:child_process';
import path from 'node:path';
import type { FloodResult, Job, LegitResult } from './lib/auth-flood-child';
import { FACEDATA, people, percentile, round, startBenchServer, type BenchServer } from './lib/traffic';

interface Args {
  seconds: number;
  'legit-connections': number;
  'flood-connections': number;
  'flood-rate': number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 15, 'legit-connections': 2, 'flood-connections': 16, 'flood-rate': 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '') as keyof Args;
    if (!(key in a)) throw new Error(`unknown option ${argv[i]}`);
    a[key] = Number(argv[i + 1]);
  }
  return a;
}

/** Runs one client job in a child process of its own. */
function run<T>(job: Job): Promise<T> {
  const child = fork(path.join(import.meta.dirname, 'lib/auth-flood-child.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<T>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`client exited with ${code}`)));
    child.once('message', (m: { result?: T; error?: string }) => {
      child.disconnect();
      if (m.error) reject(new Error(m.error));
      else resolve(m.result!);
    });
    child.send(job);
  });
}

async function metric(bench: BenchServer, name: string): Promise<number> {
  const { text } = await bench.server.metrics.exposition();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const probePaths = people(20).map((p) => path.join(FACEDATA, p.probe));
  const rows: Record<string, unknown>[] = [];
  for (const [throttle, env] of [
    ['on (20 / 60 s)', {}],
    ['off (0)', { AUTH_FAILURES_PER_ADDRESS: '0' }],
  ] as const) {
    const bench = await startBenchServer(20, env);
    try {
      const legit = (seconds: number) =>
        run<LegitResult>({ role: 'legit', url: bench.server.url, key: bench.key, from: '127.0.0.2', connections: args['legit-connections'], seconds, probePaths });
      await legit(3); // warm-up
      for (const withFlood of [false, true]) {
        const lookups0 = await metric(bench, 'faceserver_key_lookups_total');
        const throttled0 = await metric(bench, 'faceserver_auth_throttled_total');
        let poolWaitingPeak = 0;
        const poll = setInterval(() => (poolWaitingPeak = Math.max(poolWaitingPeak, bench.server.db.poolStats?.().waiting ?? 0)), 20);
        const flooding = withFlood
          ? run<FloodResult>({ role: 'flood', url: bench.server.url, connections: args['flood-connections'], seconds: args.seconds + 2, rate: args['flood-rate'] || undefined })
          : undefined;
        if (flooding) await sleep(1000); // the flood under way (and, throttle on, its address blocked) first
        const l = await legit(args.seconds);
        const f = await flooding;
        clearInterval(poll);
        const s = l.ms / 1000;
        const row = {
          store: bench.store,
          throttle,
          phase: withFlood ? 'during the flood' : 'alone',
          recognitionsPerS: round(l.okMs.length / s, 1),
          legitStatuses: l.statuses,
          ms: { p50: round(percentile(l.okMs, 50)), p90: round(percentile(l.okMs, 90)), p99: round(percentile(l.okMs, 99)), max: round(percentile(l.okMs, 100)) },
          floodPerS: f ? round(Object.values(f.statuses).reduce((a, b) => a + b, 0) / (f.ms / 1000)) : 0,
          floodStatuses: f?.statuses ?? {},
          keyLookups: (await metric(bench, 'faceserver_key_lookups_total')) - lookups0,
          throttled: (await metric(bench, 'faceserver_auth_throttled_total')) - throttled0,
          poolWaitingPeak,
        };
        console.log(JSON.stringify(row));
        rows.push(row);
        await sleep(1000);
      }
    } finally {
      await bench.close();
    }
  }
  console.log('\n| store | throttle | phase | recognitions/s | ms p50 / p90 / p99 / max | flood req/s (answers) | keys read | pool queue peak |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows as {
    store: string;
    throttle: string;
    phase: string;
    recognitionsPerS: number;
    ms: Record<string, number>;
    floodPerS: number;
    floodStatuses: Record<string, number>;
    keyLookups: number;
    poolWaitingPeak: number;
  }[]) {
    const answers = Object.entries(r.floodStatuses)
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
    console.log(
      `| ${r.store} | ${r.throttle} | ${r.phase} | ${r.recognitionsPerS} | ${r.ms.p50} / ${r.ms.p90} / ${r.ms.p99} / ${r.ms.max} | ${r.floodPerS}${answers ? ` (${answers})` : ''} | ${r.keyLookups} | ${r.poolWaitingPeak} |`,
    );
  }
}

await main();
