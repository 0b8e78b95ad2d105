// `npm run bench:soak`: long-run mixed traffic (issue 18, part 5), not part of the test suite. The real server
// on loopback (the embedded store, or DATABASE_URL), 20 LFW people enrolled; after measuring capacity (a closed
// loop of the same mix, --connections, 20 s) it offers 80% of it (--load) as an open loop for --minutes, the mix
// recognize x3, enrol, recognize, delete of that face (every recognition writes its events). Every --every
// seconds it prints one line: elapsed time, RSS, V8 heap, external memory, the event writer's backlog, faces
// stored, answers by status, and the latency percentiles of the interval (all answers, and by kind: recognize,
// enrol, delete), and what the CPU gave: the server process's CPU time per answer and the machine's busy and stolen
// shares. At the end: totals, errors, the percentiles and p99 / p50 overall and by kind, RSS growth after the first
// five minutes (or after the first fifth of a shorter run), and the latency of the answers that met no slow spell
// of the host: on a shared VM the same image costs more CPU time in some seconds, and at 80% of capacity a second
// in which each image costs 25% more than while capacity was measured is a saturated server (benchmarks/lib/
// engine-speed.ts; each line counts those seconds, the summary gives both latencies).
//
//   npm run bench:soak -- [--minutes 30] [--every 60] [--load 0.8] [--connections 4] [--rate N (skip the capacity phase)]
//   DATABASE_URL=postgres://... npm run bench:soak
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EngineSpeed } from './lib/engine-speed';
import { LoadGenerator, percentile, round, people, startBenchServer, type Answer, type Interval } from './lib/traffic';

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

/** The machine's CPU counters (Linux /proc/stat, in ticks): busy, stolen by the hypervisor, all; null elsewhere. */
function machineTicks(): { busy: number; steal: number; total: number } | null {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
  } catch {
    return null;
  }
}

/** What the CPU gave between two readings: this process's CPU ms per answer, the machine's busy and stolen %. */
class CpuMeter {
  private usage = process.cpuUsage();
  private ticks = machineTicks();

  read(answers: number): { msPerAnswer: number | null; machineBusyPct: number | null; stealPct: number | null } {
    const used = process.cpuUsage(this.usage);
    const ticks = machineTicks();
    const d = ticks && this.ticks ? { busy: ticks.busy - this.ticks.busy, steal: ticks.steal - this.ticks.steal, total: ticks.total - this.ticks.total } : null;
    this.usage = process.cpuUsage();
    this.ticks = ticks;
    return {
      msPerAnswer: round((used.user + used.system) / 1000 / answers, 1),
      machineBusyPct: d && d.total ? round((d.busy / d.total) * 100) : null,
      stealPct: d && d.total ? round((d.steal / d.total) * 100, 1) : null,
    };
  }
}

/** p50 / p90 / p99 / max of latencies, and p99 / p50. */
function spread(ms: number[]): { n: number; p50: number | null; p90: number | null; p99: number | null; max: number | null; p99OverP50: number | null } {
  const p50 = percentile(ms, 50);
  const p99 = percentile(ms, 99);
  return { n: ms.length, p50: round(p50), p90: round(percentile(ms, 90)), p99: round(p99), max: round(percentile(ms, 100)), p99OverP50: round(p99 / p50, 2) };
}

/** The same for each kind of request (an enrolment does more work than a recognition: a transaction, the photo). */
const byKind = (i: Interval) => Object.fromEntries(Object.entries(i.okByKind).map(([kind, ms]) => [kind, spread(ms)]));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const bench = await startBenchServer(20);
  const load = new LoadGenerator();
  const probes = people(20).map((p) => p.probe);
  const { server } = bench;
  const engineSpeed = new EngineSpeed(server);
  try {
    let rate = args.rate;
    let capacityMsPerImage: number | null = null;
    if (!rate) {
      // Capacity for this mix (an enrolment costs more than a recognition), so --load is a share of what the
      // server can do with this traffic.
      const meter = new CpuMeter();
      const before = await engineSpeed.read();
      const c = await load.run({ url: server.url, key: bench.key, connections: args.connections, seconds: 20, mix: 'mixed', probes, reportEveryMs: 20_000 });
      const cpu = meter.read(c.ok.length);
      capacityMsPerImage = EngineSpeed.msPerImage(before, await engineSpeed.read());
      rate = Math.max(1, Math.round((c.ok.length / (c.ms / 1000)) * args.load * 10) / 10);
      console.log(
        JSON.stringify({ capacityPerS: round(c.ok.length / (c.ms / 1000), 1), offeredPerS: rate, store: bench.store, cpu: { ...cpu, engineMsPerImage: capacityMsPerImage === null ? null : round(capacityMsPerImage, 1) } }),
      );
      await server.events.flush();
    }
    const t0 = Date.now();
    // The event loop's own delays: PGlite runs on it, so the embedded store's database work shows here.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const samples: { minute: number; rss: number }[] = [];
    const cpuMeter = new CpuMeter();
    const answers: Answer[] = [];
    let printed: Promise<void> = Promise.resolve(); // the last interval's line, printed before the summary
    const facesStored = async () => Number((await server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM faces')).rows[0].n);
    const onInterval = (i: Interval) => {
      const m = process.memoryUsage();
      const loopDelayMs = { p99: round(loop.percentile(99) / 1e6), max: round(loop.max / 1e6) };
      loop.reset();
      const minute = (Date.now() - t0) / 60_000;
      samples.push({ minute, rss: m.rss });
      const cpu = cpuMeter.read(i.ok.length + i.busy.length);
      answers.push(...i.answers!);
      const slowSeconds = engineSpeed.seconds.filter((s) => s.at >= Date.now() - i.ms && capacityMsPerImage !== null && EngineSpeed.isSlow(s.msPerImage, capacityMsPerImage)).length;
      if (i.ms < args.every * 100) return; // the few answers still in flight when the run ended: counted, not a line
      printed = facesStored().then((faces) =>
        console.log(
          JSON.stringify({
            minute: round(minute, 1),
            rssMb: mb(m.rss),
            heapUsedMb: mb(m.heapUsed),
            externalMb: mb(m.external),
            eventBacklog: server.events.pending,
            loopDelayMs,
            cpu,
            slowSeconds,
            faces,
            perS: round((i.ok.length + i.busy.length) / (i.ms / 1000), 1),
            statuses: i.statuses,
            ms: spread(i.ok),
            byKind: byKind(i),
          }),
        ),
      );
    };
    const total = await load.run(
      { url: server.url, key: bench.key, connections: 0, seconds: args.minutes * 60, overallRate: rate, openLoop: true, mix: 'mixed', probes, reportEveryMs: args.every * 1000, answers: true },
      onInterval,
    );
    await printed;
    const errors = Object.entries(total.statuses).filter(([k]) => !/^2\d\d$/.test(k));
    const settleAfter = Math.min(5, args.minutes / 5);
    const base = samples.find((s) => s.minute >= settleAfter) ?? samples[0];
    const last = samples[samples.length - 1];
    const spells = capacityMsPerImage === null ? null : engineSpeed.slowSpells(capacityMsPerImage);
    const calm = spells && answers.filter((a) => /^2\d\d$/.test(a.status) && !spells.some((s) => a.at < s.end && a.at + a.ms > s.start));
    console.log(
      JSON.stringify({
        summary: true,
        store: bench.store,
        minutes: round(total.ms / 60_000, 1),
        offeredPerS: rate,
        answered: total.ok.length,
        errors: Object.fromEntries(errors),
        ms: spread(total.ok),
        byKind: byKind(total),
        // Only with a capacity phase to compare with (not with --rate), on Linux.
        ...(spells && calm
          ? {
              outsideSlowSpells: {
                engineMsPerImageAtCapacity: round(capacityMsPerImage!, 1),
                spells: spells.length,
                secondsInSpells: round(spells.reduce((sum, s) => sum + s.end - s.start, 0) / 1000),
                answered: calm.length,
                ms: spread(calm.map((a) => a.ms)),
                byKind: Object.fromEntries(['recognize', 'enrol', 'delete'].map((kind) => [kind, spread(calm.filter((a) => a.kind === kind).map((a) => a.ms))])),
              },
            }
          : {}),
        rssMb: { afterSettling: mb(base.rss), atMinute: round(base.minute, 1), end: mb(last.rss), growthPct: round(((last.rss - base.rss) / base.rss) * 100, 1) },
      }),
    );
  } finally {
    engineSpeed.stop();
    load.close();
    await bench.close();
  }
}

await main();
