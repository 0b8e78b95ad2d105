// Temporary folders for tests: named faceserver-*, under os.tmpdir(). Whoever makes one removes it when done
// (test servers and stores on close); whatever is still here when the mocha run ends is removed by
// test/support/hooks.ts (or, if the run dies before that, when the process exits). scripts/test.sh fails a run
// that leaves any faceserver-* entry behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = new Set<string>();

export function tempDir(prefix = 'faceserver-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** Removes every folder tempDir() made that is still there; returns how many there were. */
export function removeAllTempDirs(): number {
  const n = made.size;
  for (const dir of [...made]) removeTempDir(dir);
  return n;
}

process.once('exit', removeAllTempDirs); // synchronous: still runs when mocha exits early
