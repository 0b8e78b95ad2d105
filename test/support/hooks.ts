// Loaded by .mocharc.json for every mocha run: when the run ends, deletes what tests left behind (the run's
// migrated template, temp folders a test made with tempDir() and did not remove, temp databases a failed test
// did not drop), so a run leaves nothing under /tmp or in the test PostgreSQL.
import { dropTempDatabases } from './postgres';
import { removeAllTempDirs } from './temp';

export async function mochaGlobalTeardown(): Promise<void> {
  removeAllTempDirs();
  await dropTempDatabases();
}
