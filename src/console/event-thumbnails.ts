// Thumbnails of recognition events, cut behind the response: this sink sits between the domain's event recorder
// and the store's event writer. An event that comes with its probe image is held here until its face crop is
// cut (one crop at a time, see thumbnails.ts), then handed to the writer with the crop and without the image;
// the request that made it never waits. When crops fall behind (more than `maxPending` events waiting), further
// events go to the writer at once without a thumbnail, so a burst costs thumbnails, never latency or memory.
// Images and crops are never logged; only counts are.
import type { EventSink } from '../domain/events';
import type { NewRecognitionEvent } from '../store/events';
import type { FaceCropper } from './thumbnails';

export interface ThumbnailLog {
  warn(details: object, message: string): void;
}

export interface EventThumbnailStats {
  /** Events waiting for their crop. */
  pending: number;
  /** Events written without a thumbnail because crops fell behind, or the crop failed. */
  skipped: number;
  failed: number;
}

export class ThumbnailingEventSink implements EventSink {
  private readonly inFlight = new Set<Promise<void>>();
  private waiting = 0;
  private skipped = 0;
  private failed = 0;

  constructor(
    private readonly writer: EventSink,
    /** null: thumbnails off (THUMBNAILS=false); images are dropped at once. */
    private readonly cropper: FaceCropper | null,
    private readonly log: ThumbnailLog,
    private readonly maxPending = 64,
  ) {}

  stats(): EventThumbnailStats {
    return { pending: this.waiting, skipped: this.skipped, failed: this.failed };
  }

  async write(events: NewRecognitionEvent[]): Promise<void> {
    const withImage = events.filter((e) => e.probeImage && e.box);
    const room = this.cropper !== null && this.waiting + withImage.length <= this.maxPending;
    if (!withImage.length || !room) {
      if (this.cropper !== null) this.skipped += withImage.length;
      return this.writer.write(events.map(withoutImage));
    }
    const now = events.filter((e) => !(e.probeImage && e.box));
    this.waiting += withImage.length;
    const task = this.cutThenWrite(withImage).finally(() => {
      this.waiting -= withImage.length;
      this.inFlight.delete(task);
    });
    this.inFlight.add(task);
    if (now.length) await this.writer.write(now.map(withoutImage));
  }

  /** Waits for the crops in progress, then for the writer. */
  async flush(): Promise<void> {
    await this.cropsDone();
    await this.writer.flush();
  }

  /** Resolves once every event waiting for its crop has been handed to the writer (shutdown, before the writer closes). */
  async cropsDone(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private async cutThenWrite(events: NewRecognitionEvent[]): Promise<void> {
    const out: NewRecognitionEvent[] = [];
    for (const e of events) {
      let thumbnail: Buffer | null = null;
      try {
        thumbnail = await this.cropper!.crop(e.probeImage!, e.box!);
      } catch {
        this.failed++;
      }
      out.push({ ...withoutImage(e), thumbnail });
    }
    try {
      await this.writer.write(out);
    } catch (err) {
      const e = err as { code?: unknown };
      this.log.warn({ events: out.length, code: e.code, requestIds: [...new Set(out.map((o) => o.requestId))] }, 'recognition events with thumbnails not written');
    }
  }
}

function withoutImage(e: NewRecognitionEvent): NewRecognitionEvent {
  if (e.probeImage === undefined) return e;
  const rest = { ...e };
  delete rest.probeImage;
  return rest;
}
