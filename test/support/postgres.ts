// The real PostgreSQL for tests: TEST_DATABASE_URL (npm test starts a throwaway cluster and sets it).
// Each suite gets a fresh database of its own, dropped afterwards; one a test failed to drop is dropped when the
// mocha run ends (./hooks.ts).
import crypto from 'node:crypto';
import pg from 'pg';

export function testDatabaseUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || undefined;
}

/** Without TEST_DATABASE_URL the PostgreSQL half fails in CI and is skipped, with the reason, elsewhere. */
export function requirePostgres(ctx: Mocha.Context): string {
  const url = testDatabaseUrl();
  if (url) return url;
  if (process.env.CI) throw new Error('TEST_DATABASE_URL is not set: run the suite through `npm test`, which starts PostgreSQL');
  console.log('    (skipped: TEST_DATABASE_URL is not set; `npm test` starts a PostgreSQL for these)');
  ctx.skip();
}

export interface TempDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Databases created and not yet dropped. */
const live = new Set<TempDatabase>();

export async function createTempDatabase(adminUrl: string): Promise<TempDatabase> {
  const name = `fs_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const temp: TempDatabase = {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        live.delete(temp);
      } finally {
        await c.end();
      }
    },
  };
  live.add(temp);
  return temp;
}

/** Drops every database createTempDatabase() made that is still there; returns how many there were. */
export async function dropTempDatabases(): Promise<number> {
  const n = live.size;
  for (const temp of [...live]) await temp.drop();
  return n;
}
