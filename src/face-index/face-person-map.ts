// Face id -> person id for one in-memory collection. Two Uint32Arrays with open addressing (linear probing,
// at most 3/4 full): 11-21 bytes a face, where a JS Map<number, number> costs ~30 (RESULTS.md "Index load"),
// which would take the index past 700 B a face. Ids are identities, far below 2^32; a pair that does not fit
// goes to a plain Map.
const EMPTY = 0;
const MAX_LOAD = 0.75;

const fits = (n: number) => Number.isInteger(n) && n > 0 && n <= 0xffff_ffff;

export class FacePersonMap {
  private keys = new Uint32Array(0);
  private values = new Uint32Array(0);
  private bits = 0;
  private count = 0;
  private readonly others = new Map<number, number>();

  constructor(expected = 0) {
    this.allocate(expected);
  }

  get size(): number {
    return this.count + this.others.size;
  }

  get(faceId: number): number | undefined {
    if (!fits(faceId)) return this.others.get(faceId);
    const slot = this.find(faceId);
    return this.keys[slot] === EMPTY ? this.others.get(faceId) : this.values[slot];
  }

  set(faceId: number, personId: number): void {
    if (!fits(faceId) || !fits(personId)) {
      this.delete(faceId);
      this.others.set(faceId, personId);
      return;
    }
    this.others.delete(faceId);
    if ((this.count + 1) > this.keys.length * MAX_LOAD) this.allocate(this.count + 1);
    const slot = this.find(faceId);
    if (this.keys[slot] === EMPTY) this.count++;
    this.keys[slot] = faceId;
    this.values[slot] = personId;
  }

  delete(faceId: number): boolean {
    if (!fits(faceId)) return this.others.delete(faceId);
    let hole = this.find(faceId);
    if (this.keys[hole] === EMPTY) return this.others.delete(faceId);
    // Backward-shift deletion: pull later entries of the probe run into the hole when their home slot allows.
    const mask = this.keys.length - 1;
    for (let j = (hole + 1) & mask; this.keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.home(this.keys[j]);
      const homeInRun = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (homeInRun) continue;
      this.keys[hole] = this.keys[j];
      this.values[hole] = this.values[j];
      hole = j;
    }
    this.keys[hole] = EMPTY;
    this.values[hole] = 0;
    this.count--;
    return true;
  }

  /** Room for `count` entries without growing. */
  reserve(count: number): void {
    if (count > this.keys.length * MAX_LOAD) this.allocate(count);
  }

  memoryBytes(): number {
    return this.keys.byteLength + this.values.byteLength + this.others.size * 30;
  }

  private home(faceId: number): number {
    return Math.imul(faceId, 0x9e3779b1) >>> (32 - this.bits);
  }

  /** The slot holding faceId, or the empty slot where it would go. */
  private find(faceId: number): number {
    const mask = this.keys.length - 1;
    let slot = this.home(faceId);
    while (this.keys[slot] !== EMPTY && this.keys[slot] !== faceId) slot = (slot + 1) & mask;
    return slot;
  }

  /** Re-creates the tables with room for `count` entries (a power of two slots) and re-inserts every entry. */
  private allocate(count: number): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.bits = Math.max(4, Math.ceil(Math.log2(Math.max(count, this.count, 1) / MAX_LOAD)));
    this.keys = new Uint32Array(1 << this.bits);
    this.values = new Uint32Array(1 << this.bits);
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] === EMPTY) continue;
      const slot = this.find(oldKeys[i]);
      this.keys[slot] = oldKeys[i];
      this.values[slot] = oldValues[i];
      this.count++;
    }
  }
}
