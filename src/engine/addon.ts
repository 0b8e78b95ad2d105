// Loads the compiled addon once. FACESERVER_ADDON overrides the path (e.g. a sanitizer or node-gyp build).
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The raw native exports; typed wrappers (engine.ts, matcher.ts) narrow them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, any> & { info(): Record<string, unknown> };

let addon: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (!addon) {
    const file = process.env.FACESERVER_ADDON ?? path.resolve(import.meta.dirname, '../../build/Release/faceserver.node');
    addon = require(file) as NativeAddon;
  }
  return addon;
}
