import type { Node } from 'constructs';
import { parseOriginList, type OriginEntry } from './origin.ts';

/** The stack's settings, from `cdk deploy -c key=value` (or cdk.json's "context"). */
export interface MayflyStackConfig {
  /** `origins=bucket/prefix,other-bucket` (and `originKeys=bucket=arn:aws:kms:…`); empty: the stack creates an origin bucket. */
  readonly origins: OriginEntry[];
  /** `vpcId=vpc-…`: agents join this VPC (a lookup; needs an account). Absent: a new VPC. */
  readonly vpcId?: string;
  /** `instanceType=t4g.large`. */
  readonly instanceType: string;
  /** `amiId=ami-…`: pin the agents' Amazon Linux 2023 AMI. Absent: the latest. */
  readonly amiId?: string;
  /** `fleetSize=N` agent instances; 0 (with no seeds) deploys the control plane alone. */
  readonly fleetSize: number;
  /** `seeds=N` seed instances. Absent: one per availability zone (site) with a fleet, or with an ECS cluster in `vpcId`. */
  readonly seeds?: number;
  /** `originFallback=false`: agents get no direct read on the origins (their S3 fallback is off). */
  readonly originFallback: boolean;
  /** `ssm=true`: agent hosts get the Session Manager policy. */
  readonly sessionManager: boolean;
  /** `ecsCluster=NAME`: also run the agent as a daemon on this ECS cluster. */
  readonly ecsClusterName?: string;
  /** `ecsBaseImage=…node:22-slim@sha256:…`: the agent image's base, pinned by digest (required with ecsCluster). */
  readonly ecsBaseImage?: string;
  /** `ecsPlatform=linux/arm64`: the cluster's architecture. Absent: linux/amd64. */
  readonly ecsPlatform: 'linux/amd64' | 'linux/arm64';
  /** `ecsHostSecurityGroup=sg-…`: the container instances' group; the peer port is opened on it to itself. */
  readonly ecsHostSecurityGroupId?: string;
  /** `registryMirrors=123456789012.dkr.ecr.eu-west-1.amazonaws.com,…`: hosts' runtimes pull these through the agent's mirror. Absent: none. */
  readonly registryMirrors?: readonly string[];
  /** `containerRuntime=containerd|crio|podman` that `mayfly setup` configures. Absent: containerd. */
  readonly containerRuntime?: 'containerd' | 'crio' | 'podman';
}

export class StackConfigError extends Error {
  constructor(message: string) {
    super(`mayfly context: ${message}`);
    this.name = 'StackConfigError';
  }
}

export const CONFIG_DEFAULTS = { instanceType: 't4g.medium', fleetSize: 2 } as const;

/** Reads and validates the context; every value is optional, so synth works with none. */
export function readStackConfig(node: Node): MayflyStackConfig {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    return String(value).trim();
  };
  const count = (key: string): number | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 1000) throw new StackConfigError(`${key} must be an integer from 0 to 1000`);
    return value;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const raw = text(key);
    if (raw === undefined) return fallback;
    if (raw !== 'true' && raw !== 'false') throw new StackConfigError(`${key} must be true or false`);
    return raw === 'true';
  };
  const matching = (key: string, pattern: RegExp, what: string): string | undefined => {
    const value = text(key);
    if (value !== undefined && !pattern.test(value)) throw new StackConfigError(`${key} ${JSON.stringify(value)} is not ${what}`);
    return value;
  };
  let origins: OriginEntry[];
  try {
    origins = parseOriginList(text('origins') ?? '', text('originKeys') ?? '');
  } catch (error) {
    throw new StackConfigError((error as Error).message);
  }
  if (origins.length === 0 && text('originKeys')) throw new StackConfigError('originKeys needs origins');
  const ecsPlatform = text('ecsPlatform') ?? 'linux/amd64';
  const registryMirrors = text('registryMirrors')?.split(',').map((host) => host.trim()).filter(Boolean);
  for (const host of registryMirrors ?? []) if (!/^[a-z0-9.-]{1,253}(?::\d{1,5})?$/.test(host)) throw new StackConfigError(`registryMirrors entry ${JSON.stringify(host)} is not a registry host[:port]`);
  const containerRuntime = text('containerRuntime');
  if (containerRuntime !== undefined && containerRuntime !== 'containerd' && containerRuntime !== 'crio' && containerRuntime !== 'podman') throw new StackConfigError('containerRuntime must be containerd, crio or podman');
  if (ecsPlatform !== 'linux/amd64' && ecsPlatform !== 'linux/arm64') throw new StackConfigError('ecsPlatform must be linux/amd64 or linux/arm64');
  return {
    origins,
    vpcId: matching('vpcId', /^vpc-[0-9a-f]{8,17}$/, 'a VPC id'),
    instanceType: matching('instanceType', /^[a-z0-9-]+\.[a-z0-9]+$/, 'an instance type') ?? CONFIG_DEFAULTS.instanceType,
    amiId: matching('amiId', /^ami-[0-9a-f]{8,17}$/, 'an AMI id'),
    fleetSize: count('fleetSize') ?? CONFIG_DEFAULTS.fleetSize,
    seeds: count('seeds'),
    originFallback: flag('originFallback', true),
    sessionManager: flag('ssm', false),
    ecsClusterName: text('ecsCluster'),
    ecsBaseImage: matching('ecsBaseImage', /^[^\s@]+@sha256:[0-9a-f]{64}$/, 'an image pinned by digest (name:tag@sha256:<64 hex>)'),
    ecsPlatform,
    ecsHostSecurityGroupId: matching('ecsHostSecurityGroup', /^sg-[0-9a-f]{8,17}$/, 'a security group id'),
    ...(registryMirrors?.length ? { registryMirrors } : {}),
    ...(containerRuntime ? { containerRuntime } : {}),
  };
}
