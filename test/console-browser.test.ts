// The console end to end, in a real browser: Debian's chromium (/usr/bin/chromium, installed by bin/setup)
// driven by playwright-core, against the real server on the embedded store with real models and photos from
// ../shared/facedata. An operator account made with `faceserver operators add` (through the running server's
// admin API) signs in; a collection is created; photos are enrolled through the file input (and one by drag and
// drop); a photo is searched for and its person found; two photos are compared; the search shows up in the
// history with its thumbnail; a key is created and revoked. A screenshot of each page goes to
// build/console-screenshots/ (not committed).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningServer } from '../src/server';
import { operatorsCommand } from '../src/console/cli';
import { FACEDATA, identificationSet, photo, requireFacedata } from './support/compreface';
import { migratedDataDir, REPO_ROOT, startTestServer } from './support/server';
import { ADMIN_SECRET, ensureConsoleBuilt, outcomePhotos } from './console-helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(REPO_ROOT, 'build/console-screenshots');
/** The flags headless chromium needs here: root without a sandbox, no background connections to a closed network. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

function requireChromium(ctx: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: bin/setup installs Debian's chromium for this test`);
  console.log(`    (skipped: ${CHROMIUM} is not installed; bin/setup installs it)`);
  ctx.skip();
}

describe('console in a real browser (chromium + playwright-core)', function () {
  this.timeout(300_000);
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let dataDir = '';
  let scratch = '';
  const { people } = identificationSet(3);
  const password = 'correct horse battery';
  const cspViolations: string[] = [];

  before(async function () {
    requireFacedata(this);
    requireChromium(this);
    ensureConsoleBuilt();
    fs.mkdirSync(SHOTS, { recursive: true });
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'console-e2e-'));
    dataDir = await migratedDataDir();
    server = await startTestServer({ DATA_DIR: dataDir, ADMIN_SECRET, WORKERS: '1' });
    // The operator is made as an administrator would: the CLI, which finds the running server and goes through it.
    const lines: string[] = [];
    const code = await operatorsCommand(['add', 'alice'], { out: (l) => lines.push(l), err: (l) => lines.push(l), readPassword: async () => password }, {
      DATA_DIR: dataDir,
      ADMIN_SECRET,
    });
    assert.equal(code, 0, lines.join('\n'));
    assert.match(lines.join('\n'), /the server at http/);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => console.log('    page error:', err.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await shot(`failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  /** Waits until every <img> matching `selector` has loaded a real picture. */
  const imagesLoaded = (selector: string) =>
    page.waitForFunction((sel) => {
      const imgs = [...document.querySelectorAll<HTMLImageElement>(sel)];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }, selector);

  it('signs in with an operator account (keyboard: type, Enter)', async () => {
    await page.goto(`${server!.url}/console`);
    await page.getByRole('heading', { name: 'faceserver console' }).waitFor();
    await shot('01-sign-in');
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('alert').filter({ hasText: 'wrong user name or password' }).waitFor();
    await page.getByLabel('Password').fill(password);
    await page.getByLabel('Password').press('Enter');
    await page.getByText('Signed in as').waitFor();
    assert.equal(await page.locator('.whoami strong').textContent(), 'alice');
  });

  it('creates a collection', async () => {
    await page.getByRole('link', { name: 'Collections' }).click();
    await page.getByLabel('New collection').fill('e2e lobby');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('row', { name: /e2e lobby/ }).waitFor();
    await shot('02-collections');
  });

  it('enrols several photos through the file input, each with its outcome', async () => {
    const odd = await outcomePhotos();
    const files = people.map((p) => path.join(FACEDATA, p.gallery));
    for (const [name, bytes] of [
      ['blank_wall.jpg', odd.noFace],
      ['team_photo.jpg', odd.severalFaces],
      ['blurred_face.jpg', odd.lowQuality],
    ] as const) {
      fs.writeFileSync(path.join(scratch, name), bytes);
      files.push(path.join(scratch, name));
    }
    await page.getByRole('link', { name: 'Persons' }).click();
    await page.getByRole('button', { name: 'Enrol photos' }).click();
    await page.getByLabel('Collection', { exact: true }).first().selectOption({ label: 'e2e lobby' });
    await page.getByLabel(/each photo's file name/).check();
    await page.locator('#file-enrol').setInputFiles(files);
    await page.getByText(`${files.length} of ${files.length} done`).waitFor({ timeout: 120_000 });
    const outcomes = await page.locator('.enrol-item').evaluateAll((items) => Object.fromEntries(items.map((i) => [i.querySelector('.enrol-name')!.textContent, i.getAttribute('data-outcome')])));
    for (const p of people) assert.equal(outcomes[path.basename(p.gallery)], 'enrolled', JSON.stringify(outcomes));
    assert.equal(outcomes['blank_wall.jpg'], 'no_face');
    assert.equal(outcomes['team_photo.jpg'], 'several_faces');
    assert.equal(outcomes['blurred_face.jpg'], 'low_quality');
    await shot('03-enrolment');
  });

  it('lists the enrolled persons with their thumbnails', async () => {
    await page.reload();
    for (const p of people) await page.locator('.person-card', { hasText: p.name.replace(/_/g, ' ') }).waitFor();
    await imagesLoaded('.person-card img');
    await shot('04-persons');
  });

  it("shows a person's page with faces, and adds a photo by drag and drop", async () => {
    const p = people[0];
    await page.locator('.person-card', { hasText: p.name.replace(/_/g, ' ') }).getByRole('link').click();
    await page.getByRole('heading', { name: 'Faces' }).waitFor();
    assert.equal(await page.locator('.face-card').count(), 1);
    const bytes = photo(p.probes[0]).toString('base64');
    const dataTransfer = await page.evaluateHandle(
      ({ b64, name }) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([data], name, { type: 'image/jpeg' }));
        return dt;
      },
      { b64: bytes, name: path.basename(p.probes[0]) },
    );
    await page.dispatchEvent('[data-testid=drop-enrol]', 'drop', { dataTransfer });
    await page.getByText('1 of 1 done · 1 enrolled').waitFor({ timeout: 60_000 });
    await page.locator('.face-card').nth(1).waitFor();
    await imagesLoaded('.face-card img');
    await shot('05-person');
  });

  it('searches by photo and finds the right person, with score and FAR', async () => {
    const p = people[1];
    await page.getByRole('link', { name: 'Search by photo' }).click();
    await page.locator('#file-search').setInputFiles(path.join(FACEDATA, p.probes[0]));
    const first = page.getByTestId('probe-1');
    await first.getByText(`Recognised: ${p.name.replace(/_/g, ' ')}`).waitFor({ timeout: 60_000 });
    assert.match(await first.locator('tbody tr').first().textContent() ?? '', /1 in [\d,]+|< 1 in 10/);
    await imagesLoaded('[data-testid=probe-1] img');
    await shot('06-search');
  });

  it('compares two photos of one person', async () => {
    const p = people[2];
    await page.getByRole('link', { name: 'Compare two photos' }).click();
    await page.locator('#file-verify-a').setInputFiles(path.join(FACEDATA, p.gallery));
    await page.locator('#file-verify-b').setInputFiles(path.join(FACEDATA, p.probes[0]));
    await page.getByRole('heading', { name: 'Same person' }).waitFor({ timeout: 60_000 });
    await shot('07-verify');
  });

  it('shows the search in the history with its probe thumbnail and the matched person', async () => {
    await server!.services.events.flush();
    await page.getByRole('link', { name: 'History' }).click();
    const event = page.locator('.event', { hasText: 'console search' }).first();
    await event.waitFor();
    assert.match((await event.textContent()) ?? '', new RegExp(people[1].name.replace(/_/g, ' ')));
    await imagesLoaded('.event img');
    const probe = await event.locator('img').first().getAttribute('src');
    assert.match(probe ?? '', /^api\/events\/\d+\/thumbnail$/);
    await page.locator('.chart canvas').first().waitFor();
    await shot('08-history');
  });

  it('creates a key (shown once) and revokes it', async () => {
    await page.getByRole('link', { name: 'Keys and tokens' }).click();
    await page.getByRole('button', { name: 'New key' }).click();
    await page.getByLabel('Kind (which API it opens)').selectOption('recognition');
    await page.getByLabel('Name (for the list)').fill('e2e camera');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByTestId('new-key').inputValue();
    assert.match(secret, /^[0-9a-f-]{36}$/);
    await shot('09-key-created');
    await page.getByRole('button', { name: 'Done' }).click();
    const prefix = secret.slice(0, 8);
    const row = page.locator(`tr[data-key-prefix="${prefix}"]`);
    await row.waitFor();
    const works = await fetch(`${server!.url}/api/v1/recognition/subjects`, { headers: { 'x-api-key': secret } });
    assert.equal(works.status, 200);
    await row.getByRole('button', { name: /Revoke/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await row.waitFor({ state: 'detached' });
    const refused = await fetch(`${server!.url}/api/v1/recognition/subjects`, { headers: { 'x-api-key': secret } });
    assert.equal(refused.status, 404, 'CompreFace answers an unknown or revoked key as a model not found');
    await shot('10-keys');
  });

  it('shows the status page', async () => {
    await page.getByRole('link', { name: 'Status' }).click();
    await page.getByTestId('engine-queue').waitFor();
    await page.getByRole('cell', { name: 'e2e lobby' }).waitFor();
    await shot('11-status');
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    const r = await page.evaluate(() => fetch('api/collections').then((res) => res.status));
    assert.equal(r, 401);
    assert.deepEqual(cspViolations, [], 'no page broke the content security policy');
  });
});
