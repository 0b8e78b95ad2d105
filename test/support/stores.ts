// Runs a suite against both stores: embedded PostgreSQL (PGlite, a fresh temp data folder per suite) and the
// real PostgreSQL at TEST_DATABASE_URL (a fresh database per suite, dropped afterwards). Without
// TEST_DATABASE_URL the PostgreSQL half fails in CI and is skipped, with the reason printed, elsewhere.
//
//   forEachStore((name, store) => {
//     let db: Db;
//     before(async () => { db = await store.open(); });   // migrated
//     it('...', async () => { ... });
//   });
//
// Every Db that open() returned is closed after the suite, and the suite's data folder and database deleted;
// store.open() may be called several times (two instances over one PostgreSQL; on the embedded store, close
// one before opening the next: one process at a time owns a data folder).
import type { Db } from '../../src/store/db';
import { openDb } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';
import { createTempDatabase, requirePostgres, type TempDatabase } from './postgres';
import { migratedDataDir } from './server';
import { removeTempDir, tempDir } from './temp';

export type StoreName = 'embedded' | 'postgres';

export interface TestStore {
  readonly name: StoreName;
  /** A new, migrated connection to this suite's database. */
  open(opts?: { migrate?: boolean }): Promise<Db>;
  /** Where the suite's database is, e.g. to start a server over the same store. */
  readonly location: { databaseUrl?: string; dataDir: string };
}

export function forEachStore(fn: (name: StoreName, store: TestStore) => void): void {
  for (const name of ['embedded', 'postgres'] as const) {
    describe(`on the ${name} store`, function () {
      let temp: TempDatabase | undefined;
      const opened: Db[] = [];
      const location: { databaseUrl?: string; dataDir: string } = { dataDir: '' };
      const store: TestStore = {
        name,
        location,
        async open(opts = {}) {
          if (!location.dataDir) throw new Error('store.open() is for tests and hooks, after the suite set-up');
          const db = await openDb({ databaseUrl: location.databaseUrl, dataDir: location.dataDir });
          opened.push(db);
          if (opts.migrate !== false) await migrate(db);
          return db;
        },
      };

      before(async function () {
        this.timeout(120_000);
        if (name === 'postgres') {
          temp = await createTempDatabase(requirePostgres(this));
          location.databaseUrl = temp.url;
          location.dataDir = tempDir('faceserver-store-');
        } else {
          location.dataDir = await migratedDataDir();
        }
      });

      fn(name, store);

      // Registered after the suite's own hooks, so theirs (closing what they opened) run first.
      after(async function () {
        this.timeout(60_000);
        for (const db of opened.splice(0)) await db.close().catch(() => {});
        try {
          await temp?.drop();
        } finally {
          if (location.dataDir) removeTempDir(location.dataDir);
        }
      });
    });
  }
}
