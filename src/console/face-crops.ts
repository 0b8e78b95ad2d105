// Crops of enrolled faces whose photos are not kept (SAVE_IMAGES=false), cut behind the enrolment response and
// kept in face_thumbnails, so the console can still show those faces. Faces whose photos are kept get their
// crop cut from the photo the first time the console shows them (api.ts).
import type { UnkeptPhotoSink } from '../domain/faces';
import type { Db } from '../store/db';
import { saveFaceThumbnail } from './queries';
import type { FaceCropper } from './thumbnails';
import type { ThumbnailLog } from './event-thumbnails';

export class UnkeptPhotoCrops {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly cropper: FaceCropper,
    private readonly log: ThumbnailLog,
    private readonly maxPending = 32,
  ) {}

  readonly sink: UnkeptPhotoSink = (image, faces) => {
    if (this.inFlight.size >= this.maxPending) return; // falling behind: those faces go without a crop
    const task = this.cut(image, faces).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  };

  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private async cut(image: Buffer, faces: { id: number; box: { x: number; y: number; width: number; height: number } }[]): Promise<void> {
    for (const f of faces) {
      try {
        await saveFaceThumbnail(this.db, f.id, await this.cropper.crop(image, f.box));
      } catch (err) {
        this.log.warn({ face: f.id, code: (err as { code?: unknown }).code }, 'face crop not kept');
      }
    }
  }
}
