// The client's address, for what is counted or remembered per client (the failed-authentication throttle, the
// console's sign-in throttle): the socket's peer, unless the peer is a reverse proxy listed in TRUSTED_PROXIES.
// Then it is the address that proxy forwarded in X-Forwarded-For, computed by proxy-addr (expressjs): walking the
// header from the right, the first address that is not itself a trusted proxy. Entries a client wrote into the
// header itself sit to the left of what its first trusted proxy appended, so they are never taken. With no
// trusted proxies (the default) the header is ignored altogether.
//
// Never use this for access control by address (the admin API, /metrics): those check the socket's peer.
import type Koa from 'koa';
import proxyAddr from 'proxy-addr';

/** Whether the hop's address is a trusted proxy (proxy-addr's compiled form). */
export type ProxyTrust = (address: string, hop: number) => boolean;

/** The names proxy-addr knows for address ranges: 127.0.0.0/8 and ::1; 169.254.0.0/16 and fe80::/10; 10/8, 172.16/12, 192.168/16, fc00::/7. */
export const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'] as const;

declare module 'koa' {
  interface DefaultContext {
    /** TRUSTED_PROXIES compiled; absent: no proxy is trusted. */
    proxyTrust?: ProxyTrust;
  }
}

/** TRUSTED_PROXIES (addresses, CIDR ranges, PROXY_RANGE_NAMES) as a trust function; undefined when empty. Throws on a bad entry. */
export function compileTrustedProxies(list: readonly string[]): ProxyTrust | undefined {
  return list.length > 0 ? proxyAddr.compile([...list]) : undefined;
}

/** The client's address behind the trusted proxies; the socket's peer when none is trusted. */
export function clientAddress(ctx: Koa.Context): string {
  const peer = ctx.req.socket.remoteAddress;
  if (!ctx.proxyTrust || peer === undefined) return peer ?? 'unknown';
  return proxyAddr(ctx.req, ctx.proxyTrust);
}
