// The real PostgreSQL for tests: TEST_DATABASE_URL (npm test starts a throwaway cluster and sets it).
// Each suite gets a fresh database of its own, dropped afterwards.
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

export async function createTempDatabase(adminUrl: string): Promise<TempDatabase> {
  const name = `fs_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
