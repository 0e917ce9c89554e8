import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Who may talk to the agent's local servers (the local API and the S3
 * endpoint): programs on this host, never a web page. A page can make a
 * browser send requests to 127.0.0.1 (a cross-site "simple" POST needs no
 * preflight) and, through DNS rebinding, read the answers under its own
 * name. So a request is refused when
 * - its Host is not a name the server answers to: 127.0.0.1, localhost, [::1]
 *   or the configured api host, with the server's port or none. (Rebinding
 *   needs a DNS name; with a wildcard api host any IP literal is served too.)
 * - it carries an Origin other than the server's own (browsers send Origin on
 *   cross-site requests; the CLI, curl and the SDKs send none);
 * - it has a body whose Content-Type is not exactly application/json (where
 *   `jsonBodies`: the S3 endpoint takes no body at all and refuses writes by method).
 */
export interface LocalRequestGuard {
  /** Why the request is refused (403 or 415), or undefined to serve it. */
  check(req: IncomingMessage): LocalRefusal | undefined;
}

export interface LocalRefusal {
  readonly status: 403 | 415;
  readonly message: string;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

/** `apiHost` as configured (--api-host); `port()` the port the server listens on, known once it started. */
export function localRequestGuard(apiHost: string, port: () => number, jsonBodies: boolean): LocalRequestGuard {
  const configured = apiHost.includes(':') && !apiHost.startsWith('[') ? `[${apiHost}]` : apiHost;
  const wildcard = WILDCARDS.has(apiHost);
  const names = new Set([...LOOPBACK_NAMES, ...(wildcard ? [] : [configured.toLowerCase()])]);
  const served = (host: string): boolean => {
    const { name, portPart } = splitHost(host.toLowerCase());
    if (portPart !== undefined && portPart !== String(port())) return false;
    if (names.has(name)) return true;
    return wildcard && isIP(name.replace(/^\[|\]$/g, '')) !== 0;
  };
  return {
    check(req) {
      const host = req.headers.host;
      if (!host || !served(host)) return { status: 403, message: `Host ${JSON.stringify(host ?? '')} is not served here: address the agent as 127.0.0.1, localhost or [::1]` };
      const origin = req.headers.origin;
      if (origin !== undefined && !ownOrigin(origin, served)) return { status: 403, message: `requests from web pages (Origin ${JSON.stringify(origin)}) are refused` };
      if (jsonBodies && hasBody(req) && !isJsonType(req.headers['content-type'])) return { status: 415, message: 'expected Content-Type: application/json' };
      return undefined;
    },
  };
}

/** `application/json`, optionally `; charset=utf-8`, nothing else (case-insensitive, spaces around `;` allowed). */
export function isJsonType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...parameters] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  if (parameters.length === 0) return true;
  return parameters.length === 1 && /^charset="?utf-8"?$/.test(parameters[0]);
}

function ownOrigin(origin: string, served: (host: string) => boolean): boolean {
  const match = /^http:\/\/([^/]+)$/i.exec(origin);
  return match !== null && served(match[1]);
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function splitHost(host: string): { name: string; portPart?: string } {
  const bracket = /^(\[[^\]]*\])(?::(\d+))?$/.exec(host);
  if (bracket) return { name: bracket[1], portPart: bracket[2] };
  const colon = host.lastIndexOf(':');
  if (colon < 0) return { name: host };
  return { name: host.slice(0, colon), portPart: host.slice(colon + 1) };
}
