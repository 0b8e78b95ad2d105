// Applies migrations/NNNN_name.sql in order, each in its own transaction, recording them in
// schema_migrations. A transaction-scoped advisory lock makes concurrent starts of several instances safe:
// the second waits, then sees the migration applied and skips it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './db';

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');
const LOCK_KEY = 7_345_118_001; // any constant shared by every faceserver instance

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export class SchemaError extends Error {
  override name = 'SchemaError';
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  return files.map((file) => {
    const m = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!m) throw new SchemaError(`migration file name must look like 0001_name.sql: ${file}`);
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    return { version: Number(m[1]), name: m[2], sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
  });
}

export interface MigrationReport {
  applied: number[];
  current: number;
}

export async function migrate(db: Db, migrations = readMigrations()): Promise<MigrationReport> {
  const latestKnown = migrations.length ? migrations[migrations.length - 1].version : 0;
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`);
      const rows = (await tx.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations')).rows;
      const newest = rows.reduce((max, r) => Math.max(max, r.version), 0);
      if (newest > latestKnown) {
        throw new SchemaError(
          `the database schema is at version ${newest}, newer than this faceserver knows (${latestKnown}); upgrade faceserver`,
        );
      }
      const existing = rows.find((r) => r.version === m.version);
      if (existing) {
        if (existing.checksum !== m.checksum) {
          throw new SchemaError(`migration ${m.version}_${m.name} was changed after it was applied; add a new migration instead`);
        }
        return false;
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return { applied, current: latestKnown };
}
