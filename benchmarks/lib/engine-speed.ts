// How fast the host ran the engine, second by second (bench:soak). On a shared VM the same image costs different
// CPU time from one moment to the next; a spell in which each image costs 25% more than while capacity was
// measured turns 80% of capacity into 100%, and the queue it builds shows in the latency tail long after. This
// samples, every second, the CPU time of the engine's worker threads (Linux /proc; threads named fs-engine-N)
// and the images the engine answered (the server's own counter), so the soak can tell those spells apart.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { RunningServer } from '../../src/server';

export interface EngineSecond {
  /** Epoch ms at the start of the second. */
  at: number;
  /** Engine threads' CPU ms per image answered in the second (null: fewer than 5 images, or no /proc). */
  msPerImage: number | null;
  /** Images waiting for a worker at the end of the second. */
  queued: number;
}

interface EngineReading {
  at: number;
  cpuMs: number | null;
  images: number;
}

/** A second is slow when each image cost this much more engine CPU than the reference (the capacity phase's). */
const SLOW = 1.25;

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
}

export class EngineSpeed {
  readonly seconds: EngineSecond[] = [];
  private readonly msPerTick = 1000 / clockTicksPerSecond();
  private last: EngineReading | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly server: RunningServer) {
    this.timer = setInterval(() => void this.sample(), 1000);
  }

  /** CPU ms of the engine's worker threads so far, or null without /proc. */
  private engineCpuMs(): number | null {
    try {
      let ticks = 0;
      for (const tid of fs.readdirSync('/proc/self/task')) {
        const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        if (!name.startsWith('fs-engine')) continue;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
      }
      return ticks * this.msPerTick;
    } catch {
      return null;
    }
  }

  private async imagesAnswered(): Promise<number> {
    const metric = await this.server.metrics.registry.getSingleMetric('faceserver_inference_requests_total')?.get();
    return metric?.values.find((v) => v.labels.outcome === 'ok')?.value ?? 0;
  }

  /** A reading now: what the next second (or window) is measured from. */
  async read(): Promise<EngineReading> {
    return { at: Date.now(), cpuMs: this.engineCpuMs(), images: await this.imagesAnswered() };
  }

  /** Engine CPU ms per image between two readings. */
  static msPerImage(from: EngineReading, to: EngineReading, minImages = 5): number | null {
    const images = to.images - from.images;
    return from.cpuMs === null || to.cpuMs === null || images < minImages ? null : (to.cpuMs - from.cpuMs) / images;
  }

  static isSlow(msPerImage: number | null, referenceMs: number): boolean {
    return msPerImage !== null && msPerImage > referenceMs * SLOW;
  }

  private async sample(): Promise<void> {
    const now = await this.read();
    if (this.last) this.seconds.push({ at: this.last.at, msPerImage: EngineSpeed.msPerImage(this.last, now), queued: this.server.engine.info().queued });
    this.last = now;
  }

  /**
   * The spells of slow seconds against `referenceMs` per image, each stretched until the queue it built had
   * drained: [start, end) epoch ms.
   */
  slowSpells(referenceMs: number): { start: number; end: number }[] {
    const spells: { start: number; end: number }[] = [];
    let open: { start: number; end: number } | null = null;
    for (const s of this.seconds) {
      const slow = EngineSpeed.isSlow(s.msPerImage, referenceMs);
      if (slow && !open) open = { start: s.at, end: s.at + 1000 };
      else if (open && (slow || s.queued > 0)) open.end = s.at + 1000;
      else if (open) {
        spells.push(open);
        open = null;
      }
    }
    if (open) spells.push(open);
    return spells;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
