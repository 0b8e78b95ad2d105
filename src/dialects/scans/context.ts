// What every scan API route needs: the domain services, the database (the scans store), image input limits, the
// settings, the similarity scale, and the token issuer and verifier; built once by createScansDialect.
import type Koa from 'koa';
import type { Config } from '../../config';
import type { CallContext } from '../../domain/events';
import type { DomainServices } from '../../domain/services';
import type { ImageInputOptions } from '../../http/image-input';
import type { Db } from '../../store/db';
import { similarityScale, type SimilarityScale } from './similarity';
import { TokenIssuer } from './token-issuer';
import { TokenVerifier, type ProviderSettings } from './token-verifier';

export const DIALECT = 'scans';

export interface ScansSettings {
  /** The deployment's OpenID Connect provider, when configured. */
  provider?: ProviderSettings;
  clockSkewSeconds: number;
  /** `iss` of the tokens faceserver issues. */
  tokenIssuer: string;
  tokenTtlSeconds: number;
  /** Keep the compared photos with each scan. */
  savePhotos: boolean;
  /** Delete scans older than this many days (0: never). */
  retentionDays: number;
}

/** The scan API's settings from the server's configuration (src/config.ts, SCANS_*). */
export function scansSettings(config: Config): ScansSettings {
  return {
    provider: config.scansOidcIssuer
      ? {
          issuer: config.scansOidcIssuer,
          audience: config.scansOidcAudience,
          jwksUrl: config.scansOidcJwksUrl,
          publicKey: config.scansOidcPublicKey.trim() || undefined,
          companyClaim: config.scansCompanyClaim,
          rolesClaims: config.scansRolesClaims,
          updateRole: config.scansUpdateRole,
        }
      : undefined,
    clockSkewSeconds: config.scansTokenClockSkewSeconds,
    tokenIssuer: config.scansTokenIssuer,
    tokenTtlSeconds: config.scansTokenTtlSeconds,
    savePhotos: config.scansSavePhotos,
    retentionDays: config.scansRetentionDays,
  };
}

export interface ScansDeps {
  services: DomainServices;
  db: Db;
  image: ImageInputOptions;
  settings: ScansSettings;
}

export interface Scans extends ScansDeps {
  scale: SimilarityScale;
  issuer: TokenIssuer;
  verifier: TokenVerifier;
}

export function scans(deps: ScansDeps): Scans {
  const issuer = new TokenIssuer(deps.db, deps.settings.tokenIssuer, deps.settings.tokenTtlSeconds);
  return {
    ...deps,
    scale: similarityScale(deps.services.calibration),
    issuer,
    verifier: new TokenVerifier({ provider: deps.settings.provider, clockSkewSeconds: deps.settings.clockSkewSeconds }, issuer),
  };
}

export function callContext(ctx: Koa.Context, endpoint: string): CallContext {
  return { dialect: DIALECT, endpoint, requestId: ctx.requestId };
}
