// The README's configuration table documents every setting, with the same default.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SETTINGS, loadConfig } from '../src/config';
import { REPO_ROOT } from './support/server';

describe('configuration', () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

  for (const s of Object.values(SETTINGS)) {
    it(`README documents ${s.env}`, () => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${s.env}\` |`));
      assert.ok(row, `no README table row for ${s.env}`);
      if (s.env !== 'WORKERS' && s.default !== '') assert.ok(row.includes(`\`${s.default}\``), `README default for ${s.env} should be ${s.default}`);
    });
  }

  it('defaults need no environment at all', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8000);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.dataDir, path.resolve('./data'));
  });
});
