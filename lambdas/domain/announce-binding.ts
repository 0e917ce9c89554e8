import { DEFAULTS } from '../../core/constants.ts';
import { ForbiddenError } from '../../core/errors.ts';
import type { AgentIdentity } from './identity.ts';

/** What an announce or heartbeat body says about its sender. */
export interface SelfClaims {
  readonly peerId: string;
  readonly cluster?: string;
  readonly site?: string;
  readonly seed?: boolean;
  /** `http://host:port`, where other agents reach it. */
  readonly addr?: string;
}

/** The sender as the scheduler records it: every field from the identity where the identity binds it. */
export interface BoundSelf {
  readonly peerId: string;
  readonly cluster: string;
  readonly site: string;
  readonly seed: boolean;
}

/**
 * A host speaks only for itself: the body may omit its peer id, cluster, site and
 * role or repeat the identity's, never contradict them; its advertised address must
 * be its own (the request's source address, or one the operator configured for it).
 * ForbiddenError otherwise, naming the field.
 */
export function bindSelf(identity: AgentIdentity, claims: SelfClaims, sourceIp: string | undefined): BoundSelf {
  const refuse = (field: string) =>
    new ForbiddenError(`the ${field} in the request is not the caller's own`, { context: { field, peerId: identity.peerId } });
  if (claims.peerId !== identity.peerId) throw refuse('peerId');
  if (claims.cluster !== undefined && claims.cluster !== identity.cluster) throw refuse('cluster');
  if (identity.site !== undefined && claims.site !== undefined && claims.site !== identity.site) throw refuse('site');
  if (claims.seed !== undefined && claims.seed !== identity.seed) throw refuse('seed');
  if (claims.addr !== undefined && !addrBelongs(identity, claims.addr, sourceIp)) throw refuse('addr');
  return { peerId: identity.peerId, cluster: identity.cluster, site: identity.site ?? claims.site ?? DEFAULTS.site, seed: identity.seed };
}

/** A leave or digest publish names a peer: it must be the caller's. */
export function requireSelf(identity: AgentIdentity, peerId: string): void {
  if (peerId !== identity.peerId) {
    throw new ForbiddenError('an agent may speak only for its own peer id', { context: { peerId, caller: identity.peerId } });
  }
}

/** Whether `addr`'s host is the caller's own under the identity's address rule. */
export function addrBelongs(identity: AgentIdentity, addr: string, sourceIp: string | undefined): boolean {
  const host = hostOf(addr);
  if (host === undefined) return false;
  if (identity.addrs.some((allowed) => normaliseHost(allowed) === host)) return true;
  if (identity.addrCheck === 'listed') return false;
  if (identity.addrCheck === 'private') return isPrivateAddress(host);
  return sourceIp !== undefined && normaliseHost(sourceIp) === host;
}

/** Lower case, without IPv6 brackets or the IPv4-mapped prefix (`::ffff:10.0.0.1` is `10.0.0.1`). */
export function normaliseHost(host: string): string {
  const bare = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return bare.startsWith('::ffff:') && bare.includes('.') ? bare.slice(7) : bare;
}

function hostOf(addr: string): string | undefined {
  const match = /^http:\/\/(\[[^\]]+\]|[^:/]+):\d{1,5}$/i.exec(addr);
  return match ? normaliseHost(match[1]) : undefined;
}

/**
 * RFC 1918 IPv4 and IPv6 unique-local addresses: where a host in a VPC is reached from its peers.
 * IPv4 only in plain dotted decimal: URL parsers read a leading zero as octal (`010.0.0.1` is 8.0.0.1).
 */
export function isPrivateAddress(host: string): boolean {
  const v4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (v4.slice(1).some((part) => Number(part) > 255)) return false;
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  return /^f[cd][0-9a-f]{2}:/.test(host);
}
