// The access tokens faceserver issues itself, for deployments without an identity provider: OAuth2 client
// credentials (a 'scans' key: its client id and secret) exchanged for a short-lived JWT signed with a server key
// pair. The pair is made at first use and kept in the database (every instance over it signs and verifies alike);
// only the private key is secret, and it is never logged: the public half is served as a JWKS.
import crypto from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importPKCS8,
  SignJWT,
  type FlattenedJWSInput,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';
import type { Db } from '../../store/db';
import { allSigningKeys, ensureSigningKey } from '../../store/token-signing-keys';

export const SIGNING_ALGORITHM = 'ES256';
/** The audience of the tokens faceserver issues (the scan API). */
export const SELF_AUDIENCE = 'scans';
/** RFC 9068's type of JWT access tokens. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Claim carrying the company (tenant) in every token faceserver issues. */
export const SELF_COMPANY_CLAIM = 'companyId';

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  scope: string;
}

/** A client's token: who (client id), for which company, with which scopes (space-separated in `scope`). */
export interface TokenRequest {
  clientId: string;
  company: string;
  scopes: readonly string[];
}

/** How often an unknown key id may make the verifier re-read the stored keys (another instance's new key). */
const RELOAD_MIN_INTERVAL_MS = 10_000;

interface PublicKeys {
  keys: JWK[];
  resolve: (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;
}

async function newSigningKey() {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, algorithm: SIGNING_ALGORITHM, privateKey: await exportPKCS8(privateKey), publicJwk: { ...jwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' } };
}

export class TokenIssuer {
  private signer?: Promise<{ kid: string; key: CryptoKey }>;
  private publicKeys?: Promise<PublicKeys>;
  private loadedAt = 0;

  constructor(
    private readonly db: Db,
    readonly issuer: string,
    readonly ttlSeconds: number,
  ) {}

  /** Signs a token for an authenticated client. */
  async issue(req: TokenRequest): Promise<IssuedToken> {
    const { kid, key } = await this.signingKey();
    const scope = req.scopes.join(' ');
    const accessToken = await new SignJWT({ client_id: req.clientId, scope, [SELF_COMPANY_CLAIM]: req.company })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.issuer)
      .setAudience(SELF_AUDIENCE)
      .setSubject(req.clientId)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .setJti(crypto.randomUUID())
      .sign(key);
    return { accessToken, expiresIn: this.ttlSeconds, scope };
  }

  /** The public keys of every stored signing key (the JWKS document). */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.signingKey(); // a first call makes the key pair, so the document is never empty
    return { keys: (await this.loadPublicKeys()).keys };
  }

  /**
   * A key resolver for jose's jwtVerify over the stored public keys; a token signed with a key not seen yet
   * (another instance made one at the same time) makes it re-read them, at most every RELOAD_MIN_INTERVAL_MS.
   */
  async verificationKey(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    let set = await this.loadPublicKeys();
    if (!set.keys.some((k) => k.kid === header.kid) && Date.now() - this.loadedAt > RELOAD_MIN_INTERVAL_MS) {
      this.publicKeys = undefined;
      set = await this.loadPublicKeys();
    }
    if (!set.keys.length) throw new errors.JWKSNoMatchingKey();
    return set.resolve(header, token);
  }

  private signingKey(): Promise<{ kid: string; key: CryptoKey }> {
    this.signer ??= (async () => {
      const stored = await ensureSigningKey(this.db, newSigningKey);
      this.publicKeys = undefined; // read again, with this key
      return { kid: stored.kid, key: await importPKCS8(stored.privateKey, stored.algorithm) };
    })().catch((err: unknown) => {
      this.signer = undefined; // the database may be back next time
      throw err;
    });
    return this.signer;
  }

  private loadPublicKeys(): Promise<PublicKeys> {
    this.publicKeys ??= allSigningKeys(this.db)
      .then((stored) => {
        this.loadedAt = Date.now();
        const keys = stored as JWK[];
        return { keys, resolve: keys.length ? createLocalJWKSet({ keys }) : () => Promise.reject(new errors.JWKSNoMatchingKey()) };
      })
      .catch((err: unknown) => {
        this.publicKeys = undefined;
        throw err;
      });
    return this.publicKeys;
  }
}
