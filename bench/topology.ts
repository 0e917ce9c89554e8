/**
 * The swarm benchmark's network: one or two sites, each a Linux bridge in a
 * switch namespace; every agent host is its own namespace on a veth whose two
 * ends are shaped by tbf (upload on the host side, download on the switch
 * side); the origin (S3-compatible server) and the control plane have one
 * interface per site. Two sites are joined by a veth of their own, shaped to a
 * slow rate, whose counters say what crossed between sites.
 *
 * Addresses come from 10.77.0.0/16 and exist only inside these namespaces.
 */
import { addAddress, addBridge, addVeth, attach, shape, sysctl, type NetnsSet } from './netns.ts';

export interface TopologyOptions {
  readonly hosts: number;
  readonly sites: 1 | 2;
  readonly hostMbit: number;
  readonly originMbit: number;
  /** Rate of the link between the two sites. */
  readonly interSiteMbit: number;
  readonly mtu: number;
}

export interface BenchHost {
  readonly name: string;
  readonly ns: string;
  readonly site: number;
  readonly address: string;
}

export interface DualHomed {
  readonly ns: string;
  /** Its address on each site, by site index. */
  readonly addresses: readonly string[];
  /** Its interface on each site (inside its own namespace). */
  readonly ifnames: readonly string[];
}

export interface Topology {
  readonly switchNs: string;
  readonly hosts: readonly BenchHost[];
  /**
   * The origin's address on an unshaped veth straight to the control plane: the digest
   * service's reads, in-region in AWS, so neither on a site's link nor in its origin bytes.
   */
  readonly originInRegion: string;
  readonly origin: DualHomed;
  readonly control: DualHomed;
  /** Switch-side interfaces of the inter-site link (two sites only). */
  readonly interSite?: readonly string[];
}

const siteOctet = (site: number) => site + 1;

export function buildTopology(set: NetnsSet, options: TopologyOptions): Topology {
  if (options.hosts < 1 || options.hosts > 200) throw new Error('hosts must be 1..200');
  const { mtu } = options;
  const switchNs = set.add('sw');
  for (let site = 0; site < options.sites; site++) addBridge(switchNs, `br${site}`, mtu);

  const hosts: BenchHost[] = [];
  for (let i = 0; i < options.hosts; i++) {
    // Hosts alternate between sites, so both sites get the same count (±1).
    const site = options.sites === 2 ? i % 2 : 0;
    const name = `h${i + 1}`;
    const ns = set.add(name);
    const address = `10.77.${siteOctet(site)}.${10 + i}`;
    addVeth(switchNs, name, ns, 'eth0', mtu);
    attach(switchNs, name, `br${site}`);
    // /16: every host is on-link with every other host, also across sites.
    addAddress(ns, 'eth0', `${address}/16`);
    shape(ns, 'eth0', { mbit: options.hostMbit });
    shape(switchNs, name, { mbit: options.hostMbit });
    hosts.push({ name, ns, site, address });
  }

  const dualHomed = (role: string, hostOctet: number, mbit: number | undefined): DualHomed => {
    const ns = set.add(role);
    // Answer ARP only on the interface that owns the address, so each site reaches its own link.
    for (const key of ['net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.default.arp_ignore']) sysctl(ns, key, 1);
    for (const key of ['net.ipv4.conf.all.arp_announce', 'net.ipv4.conf.default.arp_announce']) sysctl(ns, key, 2);
    const addresses: string[] = [];
    const ifnames: string[] = [];
    for (let site = 0; site < options.sites; site++) {
      const outside = `${role.slice(0, 1)}${site}`;
      const inside = `eth${site}`;
      addVeth(switchNs, outside, ns, inside, mtu);
      attach(switchNs, outside, `br${site}`);
      const address = `10.77.${siteOctet(site)}.${hostOctet}`;
      addAddress(ns, inside, `${address}/24`);
      if (mbit !== undefined) {
        shape(ns, inside, { mbit });
        shape(switchNs, outside, { mbit });
      }
      addresses.push(address);
      ifnames.push(inside);
    }
    return { ns, addresses, ifnames };
  };
  const origin = dualHomed('origin', 250, options.originMbit);
  const control = dualHomed('control', 251, undefined);
  addVeth(control.ns, 'region', origin.ns, 'region', mtu);
  addAddress(control.ns, 'region', '10.77.254.1/30');
  addAddress(origin.ns, 'region', '10.77.254.2/30');

  let interSite: string[] | undefined;
  if (options.sites === 2) {
    addVeth(switchNs, 'x0', switchNs, 'x1', mtu);
    attach(switchNs, 'x0', 'br0');
    attach(switchNs, 'x1', 'br1');
    shape(switchNs, 'x0', { mbit: options.interSiteMbit });
    shape(switchNs, 'x1', { mbit: options.interSiteMbit });
    interSite = ['x0', 'x1'];
  }
  return { switchNs, hosts, origin, control, interSite, originInRegion: '10.77.254.2' };
}
