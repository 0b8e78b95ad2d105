// Disk-full tests (test/disk-full.test.ts, test/pg-disk-full.test.ts): a small filesystem filled to the last byte.
// Mounting needs root (CAP_SYS_ADMIN): as root (CI runs the suite as root), or by `sudo -n` for a set-up user.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Fills the filesystem of `dir` to the last byte with a ballast file (`name`, in `dir`); returns its path. */
export function fill(dir: string, name = 'ballast'): string {
  const ballast = path.join(dir, name);
  const fd = fs.openSync(ballast, 'w');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (let size = chunk.length; size >= 1; ) {
      try {
        fs.writeSync(fd, chunk, 0, size);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        size = Math.floor(size / 2);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return ballast;
}

/** Runs a command as root: directly when the suite runs as root (CI), through `sudo -n` for a user with sudo. */
export function asRoot(command: string, ...args: string[]): void {
  if (process.getuid?.() === 0) execFileSync(command, args, { stdio: 'pipe' });
  else execFileSync('sudo', ['-n', command, ...args], { stdio: 'pipe' });
}
