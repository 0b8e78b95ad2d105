// The kinds of credential each dialect issues, one row per kind: who may see which collections, default scopes,
// the secret's form and whether a login goes with it. The key service (src/domain/keys.ts), the admin API and
// the CLI read this table; a new dialect adds its rows here.
import { SCOPES, type KindRules } from '../domain/keys';

export const KEY_KINDS = {
  // CompreFace: one kind per service; its clients check that a key is a UUID.
  recognition: { collections: 'owns', defaultScopes: SCOPES, secret: 'uuid', login: false },
  detection: { collections: 'none', defaultScopes: ['detect'], secret: 'uuid', login: false },
  verification: { collections: 'none', defaultScopes: ['verify'], secret: 'uuid', login: false },
  // FindFace: `Authorization: Token <token>`.
  findface: { collections: 'owns', defaultScopes: SCOPES, secret: 'random', login: false },
  // 3DiVi Image API: `Authorization: Bearer <token>` or a TOKEN header.
  imageapi: { collections: 'optional', defaultScopes: SCOPES, secret: 'random', login: false },
  // Face Intellect: HTTP Basic, user and password.
  faceintellect: { collections: 'owns', defaultScopes: SCOPES, secret: 'random', login: true },
  // The scan API: OAuth2 client credentials (client id and secret).
  scans: { collections: 'optional', defaultScopes: SCOPES, secret: 'random', login: true },
} as const satisfies Readonly<Record<string, KindRules>>;

export type KeyKind = keyof typeof KEY_KINDS;
