// `npm run bench:soak`: long-run mixed traffic (issue 18, part 5), not part of the test suite. The real server
// on loopback (the embedded store, or DATABASE_URL), 20 LFW people enrolled; after measuring capacity (a closed
// loop of recognitions, --connections, 15 s) it offers 80% of it (--load) as an open loop for --minutes, the mix
// recognize x3, enrol, recognize, delete of that face (every recognition writes its events). Every --every
// seconds it prints one line: elapsed time, RSS, V8 heap, external memory, the event writer's backlog, faces
// stored, answers by status, and the latency percentiles of the interval. At the end: totals, errors, p99 / p50,
// and RSS growth after the first five minutes (or after the first fifth of a shorter run).
//
//   npm run bench:soak -- [--minutes 30] [--every 60] [--load 0.8] [--connections 4] [--rate N (skip the capacity phase)]
//   DATABASE_URL=postgres://... npm run bench:soak
import { LoadGenerator, percentile, round, people, startBenchServer, type Interval } from './lib/traffic';

interface Args {
  minutes: number;
  every: number;
  load: number;
  connections: number;
  rate: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { minutes: 30, every: 60, load: 0.8, connections: 4, rate: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '') as keyof Args;
    if (!(key in a)) throw new Error(`unknown option ${argv[i]}`);
    a[key] = Number(argv[i + 1]);
  }
  return a;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const bench = await startBenchServer(20);
  const load = new LoadGenerator();
  const probes = people(20).map((p) => p.probe);
  const { server } = bench;
  try {
    let rate = args.rate;
    if (!rate) {
      const c = await load.run({ url: server.url, key: bench.key, connections: args.connections, seconds: 15, mix: 'recognize', probes, reportEveryMs: 15_000 });
      rate = Math.max(1, Math.round((c.ok.length / (c.ms / 1000)) * args.load * 10) / 10);
      console.log(JSON.stringify({ capacityPerS: round(c.ok.length / (c.ms / 1000), 1), offeredPerS: rate, store: bench.store }));
      await server.events.flush();
    }
    const t0 = Date.now();
    const samples: { minute: number; rss: number }[] = [];
    const facesStored = async () => Number((await server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM faces')).rows[0].n);
    const onInterval = (i: Interval) => {
      const m = process.memoryUsage();
      const minute = (Date.now() - t0) / 60_000;
      samples.push({ minute, rss: m.rss });
      void facesStored().then((faces) =>
        console.log(
          JSON.stringify({
            minute: round(minute, 1),
            rssMb: mb(m.rss),
            heapUsedMb: mb(m.heapUsed),
            externalMb: mb(m.external),
            eventBacklog: server.events.pending,
            faces,
            perS: round((i.ok.length + i.busy.length) / (i.ms / 1000), 1),
            statuses: i.statuses,
            ms: { p50: round(percentile(i.ok, 50)), p90: round(percentile(i.ok, 90)), p99: round(percentile(i.ok, 99)), max: round(percentile(i.ok, 100)) },
          }),
        ),
      );
    };
    const total = await load.run(
      { url: server.url, key: bench.key, connections: 0, seconds: args.minutes * 60, overallRate: rate, openLoop: true, mix: 'mixed', probes, reportEveryMs: args.every * 1000 },
      onInterval,
    );
    const errors = Object.entries(total.statuses).filter(([k]) => !/^2\d\d$/.test(k));
    const settleAfter = Math.min(5, args.minutes / 5);
    const base = samples.find((s) => s.minute >= settleAfter) ?? samples[0];
    const last = samples[samples.length - 1];
    const p50 = percentile(total.ok, 50);
    const p99 = percentile(total.ok, 99);
    console.log(
      JSON.stringify({
        summary: true,
        store: bench.store,
        minutes: round(total.ms / 60_000, 1),
        offeredPerS: rate,
        answered: total.ok.length,
        errors: Object.fromEntries(errors),
        ms: { p50: round(p50), p90: round(percentile(total.ok, 90)), p99: round(p99), max: round(percentile(total.ok, 100)) },
        p99OverP50: round(p99 / p50, 2),
        rssMb: { afterSettling: mb(base.rss), atMinute: round(base.minute, 1), end: mb(last.rss), growthPct: round(((last.rss - base.rss) / base.rss) * 100, 1) },
      }),
    );
  } finally {
    load.close();
    await bench.close();
  }
}

await main();
