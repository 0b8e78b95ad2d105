// `npm run bench:overload`: the server at twice its capacity (issue 18, part 4). The CompreFace recognize
// endpoint on loopback, 20 LFW people enrolled, their probe photos posted by autocannon (a child process):
//   1. capacity: closed loop, --connections (4) for --seconds: C = answered requests per second;
//   2. burst: an open loop at 2 x C (--factor) for --burst-seconds: a request every 1/(2C) s whatever the answers
//      (autocannon's overallRate is a closed loop per connection, at least 1 request/s each: once answers take
//      longer than a second it offers less than asked, so the burst phase sends its requests itself);
//   3. after: closed loop again, as in 1.
// Closed-loop phases run autocannon. For each phase: answers by status, the latency of the requests admitted (2xx) and of the busy answers (503),
// the server's peak RSS and the engine queue's peak. Prints one JSON line per phase and a Markdown table.
//
//   npm run bench:overload -- [--seconds 20] [--burst-seconds 30] [--factor 2] [--connections 4]
//   DATABASE_URL=postgres://... npm run bench:overload
import { LoadGenerator, percentile, round, RssSampler, people, startBenchServer, type Interval } from './lib/traffic';

interface Args {
  seconds: number;
  'burst-seconds': number;
  factor: number;
  connections: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 20, 'burst-seconds': 30, factor: 2, connections: 4 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '') as keyof Args;
    if (!(key in a)) throw new Error(`unknown option ${argv[i]}`);
    a[key] = Number(argv[i + 1]);
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const bench = await startBenchServer(20);
  const load = new LoadGenerator();
  const probes = people(20).map((p) => p.probe);
  const rows: Record<string, unknown>[] = [];
  try {
    const phase = async (name: string, connections: number | null, seconds: number, overallRate?: number) => {
      const rss = new RssSampler();
      let queuePeak = 0;
      const queueTimer = setInterval(() => (queuePeak = Math.max(queuePeak, bench.server.engine.info().queued)), 50);
      const t: Interval = await load.run({
        url: bench.server.url,
        key: bench.key,
        connections: connections ?? 0,
        seconds,
        overallRate,
        openLoop: connections === null,
        mix: 'recognize',
        probes,
        reportEveryMs: 5000,
      });
      clearInterval(queueTimer);
      const s = t.ms / 1000;
      const row = {
        phase: name,
        store: bench.store,
        offeredPerS: overallRate ?? null,
        connections: connections ?? 'open loop',
        seconds: round(s, 1),
        okPerS: round(t.ok.length / s, 1),
        busyPerS: round(t.busy.length / s, 1),
        statuses: t.statuses,
        okMs: { p50: round(percentile(t.ok, 50)), p90: round(percentile(t.ok, 90)), p99: round(percentile(t.ok, 99)), max: round(percentile(t.ok, 100)) },
        busyMs: { p50: round(percentile(t.busy, 50), 1), p99: round(percentile(t.busy, 99), 1), max: round(percentile(t.busy, 100), 1) },
        peakRssMb: round(rss.stop() / 2 ** 20),
        engineQueuePeak: queuePeak,
      };
      console.log(JSON.stringify(row));
      rows.push(row);
      // Requests still in flight when the phase ended are answered before the next phase starts.
      while (bench.server.engine.info().queued > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return row;
    };
    await load.run({ url: bench.server.url, key: bench.key, connections: args.connections, seconds: 5, mix: 'recognize', probes, reportEveryMs: 5000 }); // warm-up
    const capacity = await phase('capacity', args.connections, args.seconds);
    const rate = Math.max(1, Math.round(capacity.okPerS! * args.factor));
    await phase(`burst ${args.factor}x`, null, args['burst-seconds'], rate);
    await phase('after', args.connections, args.seconds);
    console.log('\n| phase | offered req/s | connections | 2xx/s | 503/s | other | 2xx ms p50 / p90 / p99 / max | 503 ms p50 / p99 | peak RSS MB | engine queue peak |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows as (typeof capacity)[]) {
      const other = Object.entries(r.statuses).filter(([k]) => !/^2\d\d$/.test(k) && k !== '503');
      console.log(
        `| ${r.phase} | ${r.offeredPerS ?? 'closed loop'} | ${r.connections} | ${r.okPerS} | ${r.busyPerS} | ${other.map(([k, n]) => `${k}: ${n}`).join(', ') || 0} | ` +
          `${r.okMs.p50} / ${r.okMs.p90} / ${r.okMs.p99} / ${r.okMs.max} | ${r.busyMs.p50 ?? '-'} / ${r.busyMs.p99 ?? '-'} | ${r.peakRssMb} | ${r.engineQueuePeak} |`,
      );
    }
  } finally {
    load.close();
    await bench.close();
  }
}

await main();
