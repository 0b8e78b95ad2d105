// The scan API's parts that need no photos: its similarity scale over the platform calibration, its settings,
// and provider tokens checked with a configured public key (PEM, JWK, a file) or against a provider that is
// down. The HTTP behaviour is in test/scans.test.ts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ConfigError, loadConfig } from '../src/config';
import { loadCalibration } from '../src/domain/calibration';
import { isDomainError } from '../src/domain/errors';
import { scansSettings } from '../src/dialects/scans/context';
import { FAR_ANCHORS, SAME_PERSON_SIMILARITY, similarityScale } from '../src/dialects/scans/similarity';
import { TokenIssuer } from '../src/dialects/scans/token-issuer';
import { claimAt, TokenVerifier, type ProviderSettings } from '../src/dialects/scans/token-verifier';
import type { Db } from '../src/store/db';
import { tempDir } from './support/server';

const ISSUER = 'https://idp.example.com/realms/acme';
const AUDIENCE = 'faceserver-scans';

/** Provider tokens never reach the database: a Db that fails if touched. */
const NO_DB = new Proxy({}, { get: () => () => Promise.reject(new Error('no database in this test')) }) as unknown as Db;

function provider(o: Partial<ProviderSettings> = {}): ProviderSettings {
  return { issuer: ISSUER, audience: [AUDIENCE], companyClaim: 'org.id', rolesClaims: ['roles', 'scope'], updateRole: 'scan-admin', ...o };
}

function verifier(p: ProviderSettings, skew = 60): TokenVerifier {
  return new TokenVerifier({ provider: p, clockSkewSeconds: skew }, new TokenIssuer(NO_DB, 'faceserver', 300));
}

describe('scan API similarity scale', () => {
  const calibration = loadCalibration();
  const scale = similarityScale(calibration);

  it('puts "Same person" (above 0.7) at a false-accept rate of 1e-3, each 0.1 a tenfold lower rate', () => {
    assert.ok(Math.abs(scale.similarity(calibration.cosineAtFar(1e-3)) - SAME_PERSON_SIMILARITY) < 1e-9);
    assert.equal(scale.sameCosine, calibration.cosineAtFar(1e-3));
    for (const a of FAR_ANCHORS) {
      const c = calibration.cosineAtFar(a.far);
      assert.ok(Math.abs(scale.similarity(c) - a.similarity) < 1e-9, `FAR ${a.far}`);
      assert.ok(Math.abs(calibration.far(c) - a.far) / a.far < 0.05, `FAR at the anchor ${a.far}: ${calibration.far(c)}`);
    }
  });

  it('is strictly increasing from 0 at cosine -1 to 1 at cosine 1, and its inverse returns the cosine', () => {
    assert.equal(scale.similarity(-1), 0);
    assert.equal(scale.similarity(1), 1);
    assert.equal(scale.similarity(-3), 0);
    assert.equal(scale.similarity(3), 1);
    let previous = -Infinity;
    for (let c = -1; c <= 1; c += 0.001) {
      const s = scale.similarity(c);
      assert.ok(s > previous, `not increasing at cosine ${c}`);
      previous = s;
      assert.ok(Math.abs(scale.cosine(s) - c) < 1e-9);
    }
  });

  it('refuses a calibration whose thresholds do not increase', () => {
    assert.throws(() => similarityScale({ ...calibration, cosineAtFar: () => 0.3 }), /not increasing/);
  });
});

describe('scan API settings', () => {
  it('reads every SCANS_* setting, with safe defaults', () => {
    const s = scansSettings(loadConfig({}));
    assert.equal(s.provider, undefined);
    assert.equal(s.savePhotos, false, 'identity documents are not kept unless asked');
    assert.equal(s.retentionDays, 0);
    assert.equal(s.tokenTtlSeconds, 300);
    assert.equal(s.clockSkewSeconds, 60);
    const p = scansSettings(
      loadConfig({
        SCANS_OIDC_ISSUER: ISSUER,
        SCANS_OIDC_AUDIENCE: 'a, b',
        SCANS_COMPANY_CLAIM: 'org.id',
        SCANS_ROLES_CLAIMS: 'roles, resource_access.faceserver.roles',
        SCANS_UPDATE_ROLE: 'scan-admin',
      }),
    ).provider!;
    assert.deepEqual(p.audience, ['a', 'b']);
    assert.deepEqual(p.rolesClaims, ['roles', 'resource_access.faceserver.roles']);
    assert.equal(p.companyClaim, 'org.id');
  });

  it('names the variable of a bad value', () => {
    const bad: [Record<string, string>, string][] = [
      [{ SCANS_OIDC_ISSUER: 'idp.example.com' }, 'SCANS_OIDC_ISSUER'],
      [{ SCANS_OIDC_JWKS_URL: 'ftp://idp/certs' }, 'SCANS_OIDC_JWKS_URL'],
      [{ SCANS_COMPANY_CLAIM: 'a..b' }, 'SCANS_COMPANY_CLAIM'],
      [{ SCANS_ROLES_CLAIMS: 'roles, bad claim' }, 'SCANS_ROLES_CLAIMS'],
      [{ SCANS_TOKEN_TTL_SECONDS: '5' }, 'SCANS_TOKEN_TTL_SECONDS'],
      [{ SCANS_SAVE_PHOTOS: 'maybe' }, 'SCANS_SAVE_PHOTOS'],
      [{ SCANS_UPDATE_ROLE: ' ' }, 'SCANS_UPDATE_ROLE'],
    ];
    for (const [env, variable] of bad) assert.throws(() => loadConfig(env), (e) => e instanceof ConfigError && e.variable === variable, variable);
  });

  it('needs an audience with an issuer, an issuer of its own, and a readable public key', () => {
    assert.throws(() => verifier(provider({ audience: [] })), (e) => e instanceof ConfigError && e.variable === 'SCANS_OIDC_AUDIENCE');
    assert.throws(() => verifier(provider({ issuer: 'faceserver' })), (e) => e instanceof ConfigError && e.variable === 'SCANS_TOKEN_ISSUER');
    assert.throws(() => verifier(provider({ publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' })), (e) => e instanceof ConfigError);
    assert.throws(() => verifier(provider({ publicKey: '/no/such/key.pem' })), (e) => e instanceof ConfigError && /readable file/.test(e.message));
  });
});

describe('scan API provider tokens with a configured key', () => {
  let key: CryptoKey;
  let pem: string;
  let jwk: string;
  const dir = tempDir('faceserver-scans-key-');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    const publicJwk = await exportJWK(pair.publicKey);
    jwk = JSON.stringify(publicJwk);
    pem = crypto.createPublicKey({ key: publicJwk as crypto.JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  });

  const token = (claims: Record<string, unknown>, expiresIn = 60) =>
    new SignJWT({ sub: 'user-1', org: { id: 'acme' }, ...claims })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
      .sign(key);

  it('verifies with a PEM, a JWK or a file holding one; the company and roles from nested and scope claims', async () => {
    const file = path.join(dir, 'idp.pem');
    fs.writeFileSync(file, pem);
    for (const publicKey of [pem, jwk, file]) {
      const v = verifier(provider({ publicKey }));
      const p = await v.verify(await token({}));
      assert.deepEqual(p, { company: 'acme', subject: 'user-1', may: { create: true, read: true, update: false }, issuedBy: 'provider' });
      assert.equal((await v.verify(await token({ scope: 'openid scan-admin' }))).may.update, true);
      assert.equal((await v.verify(await token({ roles: ['scan-admin'] }))).may.update, true);
      assert.equal((await v.verify(await token({ roles: 'scan-admin-not' }))).may.update, false);
    }
  });

  it('tolerates the configured clock skew only', async () => {
    const v0 = verifier(provider({ publicKey: pem }), 0);
    const v60 = verifier(provider({ publicKey: pem }), 60);
    const late = await token({}, -20);
    await assert.rejects(v0.verify(late), (e) => isDomainError(e, 'KEY_INVALID') && /expired/.test(e.message));
    assert.equal((await v60.verify(late)).company, 'acme');
  });

  it('refuses a token without a company (403), and reads claims at dotted paths', async () => {
    const v = verifier(provider({ publicKey: pem }));
    await assert.rejects(v.verify(await token({ org: {} })), (e) => isDomainError(e, 'FORBIDDEN'));
    await assert.rejects(v.verify(await token({ org: { id: '  ' } })), (e) => isDomainError(e, 'FORBIDDEN'));
    assert.equal(claimAt({ 'org.id': 'flat', org: { id: 'nested' } }, 'org.id'), 'flat');
    assert.equal(claimAt({ org: { id: 'nested' } }, 'org.id'), 'nested');
    assert.equal(claimAt({ org: ['x'] }, 'org.0'), undefined);
  });

  it('answers UNAVAILABLE (503) while the provider cannot be reached, and retries', async () => {
    const v = verifier(provider({ issuer: 'http://127.0.0.1:9/realms/down' }));
    const t = await new SignJWT({ org: { id: 'acme' } })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('http://127.0.0.1:9/realms/down')
      .setAudience(AUDIENCE)
      .setExpirationTime('1m')
      .sign(key);
    for (let i = 0; i < 2; i++) await assert.rejects(v.verify(t), (e) => isDomainError(e, 'UNAVAILABLE'));
  });
});
