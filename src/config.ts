// Every setting faceserver reads, with its default and meaning. The README's configuration table is made
// from this list; `loadConfig` validates all of them at start and names the variable of any bad value.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { compileTrustedProxies, PROXY_RANGE_NAMES } from './http/client-address';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Parser<T> = (raw: string, name: string) => T;

interface Setting<T> {
  env: string;
  default: string;
  doc: string;
  parse: Parser<T>;
}

const int =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  };

/** A number from 0 to 1. */
const fraction: Parser<number> = (raw, name) => {
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError(name, `expected a number from 0 to 1, got "${raw}"`);
  return n;
};

const bool: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
};

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, name) => {
    if (!(values as string[]).includes(raw)) throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };

const text: Parser<string> = (raw) => raw;

const optionalUrl: Parser<string | undefined> = (raw, name) => {
  if (raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(name, `must be a postgres:// or postgresql:// URL, got "${url.protocol}//..."`);
  }
  return raw;
};

const list: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A secret of at least 16 characters, or `sha256:` and the 64 hex digits of one; empty: none configured. */
const adminSecret: Parser<{ secret?: string; sha256?: Buffer } | undefined> = (raw, name) => {
  if (raw === '') return undefined;
  const hashed = /^sha256:([0-9a-f]{64})$/i.exec(raw);
  if (hashed) return { sha256: Buffer.from(hashed[1], 'hex') };
  if (raw.length < 16) throw new ConfigError(name, 'must be at least 16 characters, or sha256:<64 hex digits> of the secret');
  return { secret: raw };
};

/** Comma-separated IP addresses and CIDR ranges, or `*`. */
const addressList: Parser<string[]> = (raw, name) => {
  const entries = list(raw, name);
  for (const e of entries) {
    if (e === '*') continue;
    const [address, bits, extra] = e.split('/');
    const family = net.isIP(address);
    const max = family === 6 ? 128 : 32;
    if (!family || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))) {
      throw new ConfigError(name, `"${e}" is not an IP address, a CIDR range or *`);
    }
  }
  return entries;
};

/**
 * Comma-separated IP addresses and CIDR ranges of reverse proxies, and proxy-addr's names for ranges (loopback,
 * linklocal, uniquelocal); empty: none. Never "*" or a /0: every client could then name its own address.
 */
const proxyList: Parser<string[]> = (raw, name) => {
  const entries = list(raw, name);
  for (const e of entries) {
    if ((PROXY_RANGE_NAMES as readonly string[]).includes(e)) continue;
    if (e === '*') throw new ConfigError(name, '"*" would let every client name its own address: list the proxies\' addresses or ranges');
    const [address, bits, extra] = e.split('/');
    const family = net.isIP(address);
    const max = family === 6 ? 128 : 32;
    if (!family || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) >= 1 && Number(bits) <= max))) {
      throw new ConfigError(name, `"${e}" is not an IP address, a CIDR range (prefix 1 to ${max}), loopback, linklocal or uniquelocal`);
    }
  }
  try {
    compileTrustedProxies(entries);
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
  return entries;
};

/** "*" (any origin), or comma-separated origins such as https://app.example.com; empty: none. */
const origins: Parser<string[]> = (raw, name) => {
  const items = list(raw, name);
  for (const item of items) {
    if (item === '*') continue;
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== item.replace(/\/+$/, '').toLowerCase()) {
      throw new ConfigError(name, `expected "*" or origins like https://app.example.com, got "${item}"`);
    }
  }
  return items;
};

/** An http(s) URL; empty: none. */
const optionalHttpUrl: Parser<string | undefined> = (raw, name) => {
  if (raw.trim() === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw.trim());
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol)) throw new ConfigError(name, `expected an http(s) URL, got "${raw}"`);
  return raw.trim();
};

const nonBlank: Parser<string> = (raw, name) => {
  if (raw.trim() === '') throw new ConfigError(name, 'must not be blank');
  return raw.trim();
};

const CLAIM_PATH_RE = /^[A-Za-z0-9_:$-]+(\.[A-Za-z0-9_:$-]+)*$/;

/** A claim name, or a dotted path into nested claims. */
const claimPath: Parser<string> = (raw, name) => {
  if (!CLAIM_PATH_RE.test(raw.trim())) throw new ConfigError(name, `expected a claim name or dotted path (like realm_access.roles), got "${raw}"`);
  return raw.trim();
};

const claimPaths: Parser<string[]> = (raw, name) => list(raw, name).map((p) => claimPath(p, name));

/** A URL path prefix such as /faceserver (no trailing slash); empty: none. */
const pathPrefix: Parser<string> = (raw, name) => {
  const v = raw.trim().replace(/\/+$/, '');
  if (v !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(v)) throw new ConfigError(name, `expected a path such as /faceserver, got "${raw}"`);
  return v;
};

function setting<T>(env: string, def: string, doc: string, parse: Parser<T>): Setting<T> {
  return { env, default: def, doc, parse };
}

/** The settings, in the order the README documents them. */
export const SETTINGS = {
  host: setting('HOST', '127.0.0.1', 'Address the HTTP server listens on.', text),
  port: setting('PORT', '8000', 'TCP port of the HTTP server (0 picks a free one).', int(0, 65535)),
  databaseUrl: setting(
    'DATABASE_URL',
    '',
    'PostgreSQL server to use (needs the `vector` extension). Empty: embedded PostgreSQL (PGlite) under DATA_DIR.',
    optionalUrl,
  ),
  dataDir: setting('DATA_DIR', './data', 'Folder for the embedded database and stored photos.', text),
  embeddedFsync: setting(
    'EMBEDDED_FSYNC',
    'true',
    'Embedded store: every commit is synced to disk (fsync), as a PostgreSQL server does. false: commits reach the operating system only (a killed process loses nothing; a power loss or OS crash may lose the last commits or damage the database), about 3 ms less per commit.',
    bool,
  ),
  modelsDir: setting('MODELS_DIR', './models', 'Folder holding the model files that `bin/setup` fetched.', text),
  logLevel: setting('LOG_LEVEL', 'info', 'fatal, error, warn, info, debug or trace.', oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace')),
  workers: setting('WORKERS', String(os.availableParallelism()), 'Native inference threads (default: one per core).', int(1, 256)),
  queueSize: setting('QUEUE_SIZE', '64', 'Inference requests that may wait; more get a "busy" error at once.', int(1, 100000)),
  maxRequestsInFlight: setting(
    'MAX_REQUESTS_IN_FLIGHT',
    '128',
    'Requests on the API paths handled at once (reading the body, queued, running); more get the dialect\'s "busy" error (503, Retry-After) at once, before their body is read. Bounds the memory of bodies in flight to this times MAX_BODY_BYTES. 0: no limit.',
    int(0, 1_000_000),
  ),
  backend: setting('BACKEND', 'cpu', 'Inference backend: cpu, or cuda (OpenCV built with CUDA and a GPU; falls back to cpu).', oneOf('cpu', 'cuda')),
  maxBodyBytes: setting('MAX_BODY_BYTES', String(10 * 1024 * 1024), 'Largest HTTP request body (JSON with base64 images included).', int(1024, 1024 ** 3)),
  maxImageBytes: setting('MAX_IMAGE_BYTES', String(5 * 1024 * 1024), 'Largest image file accepted (CompreFace: 5 MB).', int(1024, 1024 ** 3)),
  maxImagePixels: setting('MAX_IMAGE_PIXELS', String(50_000_000), 'Largest image in pixels (width x height), checked from the header before decoding (50 MP: phone photos up to 48 MP).', int(1, 1_000_000_000)),
  maxImageSide: setting('MAX_IMAGE_SIDE', '20000', 'Largest image width or height in pixels.', int(1, 1_000_000)),
  saveImages: setting('SAVE_IMAGES', 'true', 'Keep the original photo of each enrolled face (CompreFace save_images_to_db).', bool),
  historyRetentionDays: setting('HISTORY_RETENTION_DAYS', '0', 'Delete recognition events older than this many days (0 keeps them all).', int(0, 100000)),
  eventsFlushMs: setting('EVENTS_FLUSH_MS', '1000', 'Longest a recognition event waits to be written with others in one COPY (at most 256 per write).', int(0, 60000)),
  urlFetchAllowPrivate: setting('URL_FETCH_ALLOW_PRIVATE', 'false', 'Allow image URLs that resolve to loopback or private addresses.', bool),
  urlFetchAllowHosts: setting('URL_FETCH_ALLOW_HOSTS', '', 'Comma-separated hosts that image URLs may reach even when private.', list),
  corsOrigins: setting(
    'CORS_ORIGINS',
    '*',
    'Origins whose browser scripts may call the product APIs (CORS): `*` for any, comma-separated origins (`https://app.example.com`), or empty for none. API paths only; never sends cookies.',
    origins,
  ),
  headersTimeoutMs: setting(
    'HEADERS_TIMEOUT_MS',
    '10000',
    'Longest a client may take to send a request\'s headers; then the connection is closed (slow clients, slowloris).',
    int(1000, 600000),
  ),
  requestTimeoutMs: setting(
    'REQUEST_TIMEOUT_MS',
    '120000',
    'Longest a client may take to send a whole request, body included (408 and the connection closed): a 10 MB upload needs about 0.7 Mbit/s.',
    int(1000, 3600000),
  ),
  keepAliveTimeoutMs: setting('KEEP_ALIVE_TIMEOUT_MS', '5000', 'How long an idle keep-alive connection stays open.', int(100, 600000)),
  maxConnections: setting(
    'MAX_CONNECTIONS',
    '1024',
    'Open HTTP connections at most; more are closed as they arrive (idle ones are closed after KEEP_ALIVE_TIMEOUT_MS, silent ones after HEADERS_TIMEOUT_MS). 0: no limit.',
    int(0, 1_000_000),
  ),
  logRejectedPerSecond: setting(
    'LOG_REJECTED_PER_SECOND',
    '20',
    'Requests answered with an error logged per second; beyond it they are counted, in one line per second, so a flood of bad requests cannot fill the disk with logs. 0: log every one.',
    int(0, 1_000_000),
  ),
  authFailuresPerAddress: setting(
    'AUTH_FAILURES_PER_ADDRESS',
    '20',
    'Failed key attempts (unknown, revoked or wrong keys, secrets and client secrets, in every dialect) one client address may make within AUTH_FAILURES_WINDOW_SECONDS, counted over PostgreSQL in the database for all instances on it together (each other instance may let one more through, the one that tells it of the block), on the embedded store in memory; then every attempt from it is refused at once, without a database read, with the dialect\'s 429 and Retry-After for AUTH_BLOCK_SECONDS. The address is the socket\'s peer, or behind a proxy listed in TRUSTED_PROXIES the client it forwards (IPv6: its /64); behind any other proxy all clients share the proxy\'s. 0: no throttle.',
    int(0, 1_000_000),
  ),
  authFailuresWindowSeconds: setting('AUTH_FAILURES_WINDOW_SECONDS', '60', 'The window in which AUTH_FAILURES_PER_ADDRESS failures are counted (from an address\'s first failure).', int(1, 86400)),
  authBlockSeconds: setting('AUTH_BLOCK_SECONDS', '300', 'How long an address that reached AUTH_FAILURES_PER_ADDRESS is refused.', int(1, 86400)),
  trustedProxies: setting(
    'TRUSTED_PROXIES',
    '',
    'Reverse proxies in front of faceserver whose X-Forwarded-For is believed: comma-separated addresses or CIDR ranges, or `loopback`, `linklocal`, `uniquelocal`. A request from one of them is counted (AUTH_FAILURES_PER_ADDRESS, console sign-in) under the rightmost X-Forwarded-For address that is not itself a trusted proxy. Empty: none; the client is the socket\'s peer. The admin API and /metrics always check the socket\'s peer.',
    proxyList,
  ),
  shutdownTimeoutMs: setting('SHUTDOWN_TIMEOUT_MS', '10000', 'How long a graceful shutdown waits for in-flight requests.', int(0, 600000)),
  adminApi: setting('ADMIN_API', 'true', 'Serve the admin API (`/admin/v1`: keys and collections), which `faceserver keys` uses while the server runs.', bool),
  adminSecret: setting(
    'ADMIN_SECRET',
    '',
    'The admin API\'s secret (at least 16 characters), or `sha256:` and its hex SHA-256. Empty: one is generated at first start into DATA_DIR/admin-secret (mode 0600), where the CLI finds it.',
    adminSecret,
  ),
  adminAllowedAddresses: setting(
    'ADMIN_ALLOWED_ADDRESSES',
    '',
    'Comma-separated addresses or CIDR ranges that may call the admin API besides loopback (`*`: any). Empty: loopback only.',
    addressList,
  ),
  // The scan API (src/dialects/scans/): OAuth2 bearer tokens from the deployment's OpenID Connect provider, or
  // issued by faceserver itself to OAuth2 clients (`faceserver keys create --kind scans`).
  scansOidcIssuer: setting(
    'SCANS_OIDC_ISSUER',
    '',
    'Scan API: the `iss` of access tokens from your OpenID Connect provider (e.g. https://idp.example.com/realms/acme). Empty: only tokens faceserver issues itself are accepted.',
    optionalHttpUrl,
  ),
  scansOidcAudience: setting('SCANS_OIDC_AUDIENCE', '', 'Scan API: the `aud` a provider token must carry (comma-separated: any of them). Required with SCANS_OIDC_ISSUER.', list),
  scansOidcJwksUrl: setting(
    'SCANS_OIDC_JWKS_URL',
    '',
    "Scan API: the provider's JWKS URL. Empty: SCANS_OIDC_PUBLIC_KEY, else the `jwks_uri` of the issuer's /.well-known/openid-configuration.",
    optionalHttpUrl,
  ),
  scansOidcPublicKey: setting(
    'SCANS_OIDC_PUBLIC_KEY',
    '',
    "Scan API: the provider's token-signing public key instead of a JWKS URL: a PEM (SPKI) or JWK text, or the path of a file holding one.",
    text,
  ),
  scansTokenClockSkewSeconds: setting('SCANS_TOKEN_CLOCK_SKEW_SECONDS', '60', 'Scan API: clock difference tolerated when checking a token\'s exp, nbf and iat.', int(0, 3600)),
  scansCompanyClaim: setting(
    'SCANS_COMPANY_CLAIM',
    'companyId',
    'Scan API: the claim of a provider token naming the company (tenant) its scans belong to; a dotted path reaches into objects (`org.id`).',
    claimPath,
  ),
  scansRolesClaims: setting(
    'SCANS_ROLES_CLAIMS',
    'roles,realm_access.roles',
    'Scan API: the claims of a provider token listing its roles (arrays or space-separated text; dotted paths reach into objects), comma-separated.',
    claimPaths,
  ),
  scansUpdateRole: setting('SCANS_UPDATE_ROLE', 'scans-update', 'Scan API: the role a provider token needs to update scans (PUT).', nonBlank),
  scansTokenIssuer: setting('SCANS_TOKEN_ISSUER', 'faceserver', 'Scan API: the `iss` of the access tokens faceserver issues (POST /oauth2/token); must differ from SCANS_OIDC_ISSUER.', nonBlank),
  scansTokenTtlSeconds: setting('SCANS_TOKEN_TTL_SECONDS', '300', 'Scan API: lifetime of the access tokens faceserver issues.', int(30, 86400)),
  scansSavePhotos: setting('SCANS_SAVE_PHOTOS', 'false', 'Scan API: keep the two compared photos with each scan (identity documents: off by default).', bool),
  scansRetentionDays: setting('SCANS_RETENTION_DAYS', '0', 'Scan API: delete scans (with their photos) older than this many days (0 keeps them all).', int(0, 100000)),
  faceintellectAnonymousServers: setting(
    'FACEINTELLECT_ANONYMOUS_SERVERS',
    '',
    'Face Intellect API: comma-separated servers (collection names, created when absent) that requests without credentials may use, for Face Intellect 8.x on a trusted network. Empty: every request needs a faceintellect key (HTTP Basic).',
    list,
  ),
  faceintellectMatchSim: setting(
    'FACEINTELLECT_MATCH_SIM',
    '0.5',
    'Face Intellect API: the Sim at which a face is recognized: FindFaces lists only persons at or above it, counts the recognition, and makes an automatic person below it. 0.5 is a false-accept rate of 1e-3, each 0.1 more ten times fewer.',
    fraction,
  ),
  faceintellectQuality: setting(
    'FACEINTELLECT_QUALITY',
    'true',
    'Face Intellect API: FindFaces measures each face\'s `quality` with the engine\'s quality block (several times the cost of finding and matching the face: benchmarks/RESULTS.md). false: `quality` is the detector\'s confidence.',
    bool,
  ),
  faceintellectAutoPersons: setting(
    'FACEINTELLECT_AUTO_PERSONS',
    '',
    'Face Intellect API: comma-separated servers (collection names; `*` for all) where FindFaces adds each unrecognized face as a new person (AutoCreated), so later sightings are recognized as that person.',
    list,
  ),
  // FindFace (src/dialects/findface/): dynamic person creation and 'friend or foe' of camera history.
  findfacePersonThreshold: setting(
    'FINDFACE_PERSON_THRESHOLD',
    '0.75',
    'FindFace: a face posted with a `cam_id` joins the person of its most similar face when their confidence reaches this (FindFace scale, 0..1; strict 0.7834, medium 0.6616, low 0.5690), else it starts a new person.',
    fraction,
  ),
  findfacePersonGlobal: setting(
    'FINDFACE_PERSON_GLOBAL',
    'true',
    'FindFace: a camera\'s face may join the person of any face the token sees (true), or only of a face the same camera captured (false: NtechLab\'s per-camera persons).',
    bool,
  ),
  findfaceFriendDays: setting('FINDFACE_FRIEND_DAYS', '5', 'FindFace: a person is a friend once the same camera has seen them on this many days within FINDFACE_FRIEND_INTERVAL_HOURS.', int(1, 3650)),
  findfaceFriendIntervalHours: setting('FINDFACE_FRIEND_INTERVAL_HOURS', '168', 'FindFace: the window (hours before now) in which those days are counted.', int(1, 87600)),
  // The 3DiVi Image API (src/dialects/imageapi/): processing services at /<service>/process/{image,sample}.
  imageapiAuth: setting(
    'IMAGEAPI_AUTH',
    'key',
    'Image API: `key` requires an `imageapi` key (`Authorization: Bearer <key>` or a `TOKEN` header); `none` lets requests without one through (a gateway in front authenticates), except search-matcher, which needs a key for its collections.',
    oneOf('key', 'none'),
  ),
  imageapiMaxImageBytes: setting('IMAGEAPI_MAX_IMAGE_BYTES', String(4_700_000), 'Image API: largest image (the document\'s 4.7 MB), at most MAX_IMAGE_BYTES.', int(1024, 1024 ** 3)),
  imageapiLivenessModule: setting(
    'IMAGEAPI_LIVENESS_MODULE',
    'face-detector-liveness-estimator',
    'Image API: the module behind face-detector-liveness-estimator: `liveness-anti-spoofing` (one face), `quality-liveness-anti-spoofing` (one face, quality threshold) or `face-detector-liveness-estimator` (every face with its box).',
    oneOf('liveness-anti-spoofing', 'quality-liveness-anti-spoofing', 'face-detector-liveness-estimator'),
  ),
  imageapiLivenessMaxPixels: setting('IMAGEAPI_LIVENESS_MAX_PIXELS', String(10_000_000), 'Image API: largest image the two anti-spoofing liveness modules take (the document\'s 10 megapixels).', int(1, 1_000_000_000)),
  imageapiLivenessQualityThreshold: setting(
    'IMAGEAPI_LIVENESS_QUALITY_THRESHOLD',
    '30',
    'Image API: quality-liveness-anti-spoofing refuses a face whose quality total (0..100) is below this.',
    int(0, 100),
  ),
  thumbnails: setting(
    'THUMBNAILS',
    'true',
    'Keep a small JPEG crop of the probe face of each recognition event (deleted with the event, HISTORY_RETENTION_DAYS) and of each enrolled face whose photo is not kept (SAVE_IMAGES=false), for the console. Photos of faces are biometric data: turn it off where they must not be kept.',
    bool,
  ),
  thumbnailSize: setting('THUMBNAIL_SIZE', '112', 'Side of those crops in pixels.', int(32, 512)),
  console: setting('CONSOLE', 'true', 'Serve the web console at /console (sign-in with the admin secret or an operator account: `faceserver operators`).', bool),
  consolePathPrefix: setting(
    'CONSOLE_PATH_PREFIX',
    '',
    'The path a reverse proxy serves faceserver under (e.g. `/faceserver`), for the console\'s links and cookie. Empty: the proxy\'s X-Forwarded-Prefix header when it sends one.',
    pathPrefix,
  ),
  consoleSessionIdleMinutes: setting('CONSOLE_SESSION_IDLE_MINUTES', '30', 'A console session ends after this many minutes without a request.', int(1, 10080)),
  metrics: setting('METRICS', 'true', 'Serve Prometheus metrics at /metrics (requests, inference queue, matcher, event writer, database pool, process).', bool),
  metricsAllowedAddresses: setting(
    'METRICS_ALLOWED_ADDRESSES',
    '',
    'Comma-separated addresses or CIDR ranges that may scrape /metrics besides loopback (`*`: any). Empty: loopback only.',
    addressList,
  ),
  metricsToken: setting(
    'METRICS_TOKEN',
    '',
    'A bearer token scrapes of /metrics must send (at least 16 characters), or `sha256:` and its hex SHA-256. Empty: the address check alone.',
    adminSecret,
  ),
  apiDocs: setting('API_DOCS', 'true', 'Serve the browsable API documentation at /docs (every dialect\'s OpenAPI document, /openapi/<dialect>.json, in Swagger UI; no credentials, no CDN).', bool),
  consoleSessionHours: setting('CONSOLE_SESSION_HOURS', '12', 'A console session ends this many hours after sign-in, however active.', int(1, 720)),
} as const;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: Settings[K] extends Setting<infer T> ? T : never };

/** Reads and validates every setting; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = env[s.env] ?? s.default;
    out[key] = s.parse(raw, s.env);
  }
  out.dataDir = path.resolve(out.dataDir as string);
  out.modelsDir = path.resolve(out.modelsDir as string);
  return out as Config;
}
