// Bearer access tokens of the scan API, verified with jose: JWTs of the deployment's own OpenID Connect provider
// (its issuer and audience, its keys from a JWKS URL, a configured public key, or the issuer's discovery
// document; expiry required; clock skew tolerated) and the tokens faceserver issues itself (token-issuer.ts).
// A token resolves to a principal: the company (tenant) its scans belong to, who it is, and what it may do.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions, type KeyObject } from 'jose';
import { ConfigError } from '../../config';
import { DomainError } from '../../domain/errors';
import { ACCESS_TOKEN_TYPE, SELF_AUDIENCE, SELF_COMPANY_CLAIM, SIGNING_ALGORITHM, type TokenIssuer } from './token-issuer';

/** What a request's token allows. */
export interface ScanPrincipal {
  /** The tenant: every scan it creates, reads, updates or lists is this company's. */
  company: string;
  /** The token's subject (a user id, or an OAuth2 client id): created by / updated by. */
  subject: string | null;
  may: { create: boolean; read: boolean; update: boolean };
  /** Who issued the token: the configured provider, or faceserver itself. */
  issuedBy: 'provider' | 'faceserver';
}

export interface ProviderSettings {
  issuer: string;
  audience: readonly string[];
  jwksUrl?: string;
  /** PEM (SPKI) or JWK text, or a path to a file holding one. */
  publicKey?: string;
  companyClaim: string;
  rolesClaims: readonly string[];
  updateRole: string;
}

export interface VerifierSettings {
  provider?: ProviderSettings;
  clockSkewSeconds: number;
}

/** Asymmetric signatures only: a provider's tokens are never checked with a shared secret, and never unsigned. */
const PROVIDER_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** How long a provider's JWKS or discovery document may take. */
const FETCH_TIMEOUT_MS = 5000;

const invalidToken = (message: string) => new DomainError('KEY_INVALID', message, { oauthError: 'invalid_token' });

/** A value inside the claims at a dotted path (`realm_access.roles`); a claim named with the dots wins. */
export function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let v: unknown = payload;
  for (const part of path.split('.')) {
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** Role names in a claim: an array of strings, or space-separated text (OAuth2's scope). */
function rolesIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((r): r is string => typeof r === 'string');
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return [];
}

/** A configured public key (PEM or JWK text, or a file holding one) as a KeyObject; ConfigError when unreadable. */
export function readPublicKey(value: string, variable = 'SCANS_OIDC_PUBLIC_KEY'): KeyObject {
  let text = value.trim();
  if (!text.startsWith('-----BEGIN') && !text.startsWith('{')) {
    try {
      text = fs.readFileSync(text, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(variable, `is neither a PEM or JWK key nor a readable file: ${(err as Error).message}`);
    }
  }
  try {
    const key = text.startsWith('{')
      ? crypto.createPublicKey({ key: JSON.parse(text) as crypto.JsonWebKey, format: 'jwk' })
      : crypto.createPublicKey(text);
    if (key.type !== 'public') throw new Error('not a public key');
    return key;
  } catch (err) {
    throw new ConfigError(variable, `cannot be read as a public key: ${(err as Error).message}`);
  }
}

/** jose's verification failures in words for the client (never the token itself). */
function describe(err: unknown, payload: JWTPayload): DomainError {
  if (err instanceof errors.JWTExpired) {
    const exp = typeof payload.exp === 'number' ? ` at ${new Date(payload.exp * 1000).toISOString()}` : '';
    return invalidToken(`the access token expired${exp}`);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return invalidToken(`the access token's issuer ${JSON.stringify(payload.iss ?? null)} is not accepted`);
    if (err.claim === 'aud') return invalidToken('the access token is not meant for this server (its audience does not match)');
    if (err.claim === 'nbf') return invalidToken('the access token is not valid yet (nbf)');
    if (err.claim === 'iat') return invalidToken('the access token was issued in the future (iat)');
    if (err.reason === 'missing') return invalidToken(`the access token has no "${err.claim}" claim`);
    if (err.claim === 'typ') return invalidToken(`the access token's type is not ${ACCESS_TOKEN_TYPE}`);
    return invalidToken(`the access token's "${err.claim}" claim is not valid`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalidToken("the access token's signature does not verify");
  if (err instanceof errors.JWKSNoMatchingKey) return invalidToken('the access token is signed with a key its issuer does not publish');
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return invalidToken("the access token's signing algorithm is not accepted");
  if (err instanceof DomainError) return err;
  // Fetching the provider's JWKS failed: a timeout, a network error, not 200, not JSON (jose's generic error).
  const unfetched = err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || !(err instanceof errors.JOSEError) || err.code === 'ERR_JOSE_GENERIC';
  if (unfetched) return Object.assign(new DomainError('UNAVAILABLE', "the identity provider's signing keys cannot be fetched; try again later"), { cause: err });
  return invalidToken('the access token is not a valid JWT');
}

type KeyInput = KeyObject | ReturnType<typeof createRemoteJWKSet>;

export class TokenVerifier {
  private providerKey?: Promise<KeyInput>;

  constructor(
    private readonly settings: VerifierSettings,
    private readonly self: TokenIssuer,
  ) {
    const p = settings.provider;
    if (p) {
      if (!p.audience.length) throw new ConfigError('SCANS_OIDC_AUDIENCE', 'is required with SCANS_OIDC_ISSUER (the `aud` its tokens carry for this server)');
      if (p.issuer === self.issuer) throw new ConfigError('SCANS_TOKEN_ISSUER', `must differ from SCANS_OIDC_ISSUER ("${p.issuer}")`);
      if (p.publicKey) this.providerKey = Promise.resolve(readPublicKey(p.publicKey));
      else if (p.jwksUrl) this.providerKey = Promise.resolve(remoteKeys(p.jwksUrl));
    }
  }

  /** The principal of a bearer token; KEY_INVALID (invalid_token) when it does not verify, FORBIDDEN without a company. */
  async verify(token: string): Promise<ScanPrincipal> {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      throw invalidToken('the bearer token is not a JWT');
    }
    if (claims.iss === this.self.issuer) return this.verifySelf(token, claims);
    const provider = this.settings.provider;
    if (provider && claims.iss === provider.issuer) return this.verifyProvider(token, claims, provider);
    throw invalidToken(`the access token's issuer ${JSON.stringify(claims.iss ?? null)} is not accepted`);
  }

  private options(extra: JWTVerifyOptions): JWTVerifyOptions {
    return { clockTolerance: this.settings.clockSkewSeconds, requiredClaims: ['exp'], ...extra };
  }

  private async verifySelf(token: string, claims: JWTPayload): Promise<ScanPrincipal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header, t) => this.self.verificationKey(header, t), {
        ...this.options({ issuer: this.self.issuer, audience: SELF_AUDIENCE, algorithms: [SIGNING_ALGORITHM], typ: ACCESS_TOKEN_TYPE }),
        requiredClaims: ['exp', 'sub', SELF_COMPANY_CLAIM],
      }));
    } catch (err) {
      throw describe(err, claims);
    }
    const scopes = rolesIn(payload.scope);
    return {
      company: String(payload[SELF_COMPANY_CLAIM]),
      subject: payload.sub ?? null,
      may: { create: scopes.includes('verify'), read: scopes.includes('read'), update: scopes.includes('write') },
      issuedBy: 'faceserver',
    };
  }

  private async verifyProvider(token: string, claims: JWTPayload, p: ProviderSettings): Promise<ScanPrincipal> {
    let payload: JWTPayload;
    try {
      const key = await this.keyOf(p);
      ({ payload } = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], this.options({ issuer: p.issuer, audience: [...p.audience], algorithms: PROVIDER_ALGORITHMS })));
    } catch (err) {
      throw describe(err, claims);
    }
    const company = claimAt(payload, p.companyClaim);
    if ((typeof company !== 'string' && typeof company !== 'number') || String(company).trim() === '') {
      throw new DomainError('FORBIDDEN', `the access token names no company (claim "${p.companyClaim}")`, { oauthError: 'insufficient_scope' });
    }
    const roles = p.rolesClaims.flatMap((path) => rolesIn(claimAt(payload, path)));
    return {
      company: String(company),
      subject: payload.sub ?? null,
      may: { create: true, read: true, update: roles.includes(p.updateRole) },
      issuedBy: 'provider',
    };
  }

  /** The provider's keys: configured, or its JWKS URL, or the jwks_uri of its discovery document (read once). */
  private keyOf(p: ProviderSettings): Promise<KeyInput> {
    this.providerKey ??= discoverJwksUri(p.issuer)
      .then(remoteKeys)
      .catch((err: unknown) => {
        this.providerKey = undefined; // try again with the next token
        throw err;
      });
    return this.providerKey;
  }
}

function remoteKeys(url: string): ReturnType<typeof createRemoteJWKSet> {
  return createRemoteJWKSet(new URL(url), { timeoutDuration: FETCH_TIMEOUT_MS });
}

/** The jwks_uri of an OpenID provider's discovery document (OpenID Connect Discovery 1.0, section 4). */
async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (!res.ok) throw new DomainError('UNAVAILABLE', `the identity provider's discovery document answered HTTP ${res.status}; try again later`);
  const doc = (await res.json()) as { jwks_uri?: unknown };
  if (typeof doc.jwks_uri !== 'string') throw new DomainError('UNAVAILABLE', "the identity provider's discovery document has no jwks_uri");
  return doc.jwks_uri;
}
