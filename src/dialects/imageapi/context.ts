// What every Image API route needs: the domain services, image input limits and the dialect's settings, built
// once by createImageApiDialect.
import type Koa from 'koa';
import type { Config } from '../../config';
import type { CallContext } from '../../domain/events';
import type { DomainServices } from '../../domain/services';
import type { ImageInputOptions } from '../../http/image-input';

export const DIALECT = 'imageapi';

export const LIVENESS_MODULES = ['liveness-anti-spoofing', 'quality-liveness-anti-spoofing', 'face-detector-liveness-estimator'] as const;
export type LivenessModule = (typeof LIVENESS_MODULES)[number];

export interface ImageApiSettings {
  /** key: every request needs an imageapi key; none: anonymous requests pass (search-matcher still needs one). */
  auth: 'key' | 'none';
  /** Largest image in bytes (the document's 4.7 MB). */
  maxImageBytes: number;
  livenessModule: LivenessModule;
  /** Largest image the anti-spoofing modules take, in pixels (the document's 10 MP). */
  livenessMaxPixels: number;
  /** quality-liveness-anti-spoofing: the lowest quality total (0..100) it accepts. */
  livenessQualityThreshold: number;
}

export function imageApiSettings(config: Config): ImageApiSettings {
  return {
    auth: config.imageapiAuth,
    maxImageBytes: Math.min(config.imageapiMaxImageBytes, config.maxImageBytes),
    livenessModule: config.imageapiLivenessModule,
    livenessMaxPixels: config.imageapiLivenessMaxPixels,
    livenessQualityThreshold: config.imageapiLivenessQualityThreshold,
  };
}

export interface ImageApiDeps {
  services: DomainServices;
  image: ImageInputOptions;
  settings: ImageApiSettings;
}

export function callContext(ctx: Koa.Context, endpoint: string): CallContext {
  return { dialect: DIALECT, endpoint, requestId: ctx.requestId };
}
