import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { parseXML } from '@aws-sdk/xml-builder';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { UnavailableError } from '../../core/errors.ts';

/** What the scheduler needs of one EC2 instance. */
export interface Ec2Instance {
  readonly state: string;
  readonly zone: string;
  /** Private IPv4 and IPv6 addresses of every network interface. */
  readonly addrs: readonly string[];
}

/** Region, credentials and (tests only) an endpoint standing in for EC2. */
export interface Ec2InstanceReaderOptions {
  readonly region: string;
  readonly endpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

const API_VERSION = '2016-11-15';
/** EC2 answers these for an id that names no instance: an answer, not an outage. */
const NOT_FOUND = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);

/**
 * EC2 DescribeInstances for one instance, signed with the SDK's SigV4 signer and read
 * with the SDK's XML parser. Not @aws-sdk/client-ec2: that client adds about 600 KB to
 * the scheduler bundle and doubles its cold-start CPU, for one read-only call.
 * Undefined when EC2 knows no such instance; UnavailableError when EC2 throttles,
 * fails or cannot be reached.
 */
export class Ec2InstanceReader {
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(options: Ec2InstanceReaderOptions) {
    this.signer = new SignatureV4({ service: 'ec2', region: options.region, credentials: options.credentials ?? defaultProvider(), sha256: Sha256 });
    this.url = new URL(options.endpoint ?? `https://ec2.${options.region}.amazonaws.com/`);
  }

  async describe(instanceId: string): Promise<Ec2Instance | undefined> {
    const body = new URLSearchParams({ Action: 'DescribeInstances', Version: API_VERSION, 'InstanceId.1': instanceId }).toString();
    const request = new HttpRequest({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port ? Number(this.url.port) : undefined,
      path: this.url.pathname,
      headers: { host: this.url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    });
    let status: number;
    let text: string;
    try {
      const { host: _host, ...headers } = (await this.signer.sign(request)).headers;
      const response = await fetch(this.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw new UnavailableError(`cannot look up the caller's host (ec2:DescribeInstances: ${(error as Error).message})`, { cause: error, context: { retryAfterMs: 2000 } });
    }
    const document = xmlOf(text);
    if (!document) {
      // Not EC2's XML (a proxy's error page, a cut-off answer): an outage, never a 500 nor "unknown host".
      throw new UnavailableError(`cannot look up the caller's host (ec2:DescribeInstances: HTTP ${status}, not EC2's XML)`, { context: { retryAfterMs: 2000 } });
    }
    if (status !== 200) {
      const code = String(document?.Response?.Errors?.Error?.Code ?? `HTTP ${status}`);
      if (NOT_FOUND.has(code)) return undefined;
      throw new UnavailableError(`cannot look up the caller's host (ec2:DescribeInstances: ${code})`, { context: { retryAfterMs: 2000 } });
    }
    const instance = listOf(document?.DescribeInstancesResponse?.reservationSet?.item).flatMap((reservation) => listOf(reservation?.instancesSet?.item))[0];
    const zone = instance?.placement?.availabilityZone;
    return instance && zone ? { state: String(instance.instanceState?.name ?? ''), zone: String(zone), addrs: addressesOf(instance) } : undefined;
  }
}

function xmlOf(text: string): Record<string, any> | undefined {
  try {
    const document = parseXML(text) as unknown;
    return typeof document === 'object' && document !== null ? (document as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

/** The XML parser gives one child as an object, several as an array, none as undefined or "". */
function listOf(value: unknown): any[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

function addressesOf(instance: Record<string, any>): string[] {
  const addrs = new Set<string>();
  if (instance.privateIpAddress) addrs.add(String(instance.privateIpAddress));
  for (const nic of listOf(instance.networkInterfaceSet?.item)) {
    for (const ip of listOf(nic?.privateIpAddressesSet?.item)) if (ip?.privateIpAddress) addrs.add(String(ip.privateIpAddress));
    for (const ip of listOf(nic?.ipv6AddressesSet?.item)) if (ip?.ipv6Address) addrs.add(String(ip.ipv6Address).toLowerCase());
  }
  return [...addrs];
}
