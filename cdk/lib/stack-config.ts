import type { Node } from 'constructs';
import { parseOriginList } from './origin.ts';

/** The stack's settings, from `cdk deploy -c key=value` (or cdk.json's "context"). */
export interface MayflyStackConfig {
  /** `origins=bucket/prefix,other-bucket`; empty: the stack creates an origin bucket. */
  readonly origins: Array<{ bucketName: string; prefix?: string }>;
  /** `vpcId=vpc-…`: agents join this VPC (a lookup; needs an account). Absent: a new VPC. */
  readonly vpcId?: string;
  /** `instanceType=t4g.large`. */
  readonly instanceType: string;
  /** `fleetSize=N` agent instances; 0 deploys the control plane alone. */
  readonly fleetSize: number;
  /** `ecsCluster=NAME`: also run the agent as a daemon on this ECS cluster. */
  readonly ecsClusterName?: string;
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
  let origins: MayflyStackConfig['origins'];
  try {
    origins = parseOriginList(text('origins') ?? '');
  } catch (error) {
    throw new StackConfigError((error as Error).message);
  }
  const vpcId = text('vpcId');
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) throw new StackConfigError(`vpcId ${JSON.stringify(vpcId)} is not a VPC id`);
  const instanceType = text('instanceType') ?? CONFIG_DEFAULTS.instanceType;
  if (!/^[a-z0-9-]+\.[a-z0-9]+$/.test(instanceType)) throw new StackConfigError(`instanceType ${JSON.stringify(instanceType)} is not an instance type`);
  const fleetSize = Number(text('fleetSize') ?? CONFIG_DEFAULTS.fleetSize);
  if (!Number.isInteger(fleetSize) || fleetSize < 0 || fleetSize > 1000) throw new StackConfigError('fleetSize must be an integer from 0 to 1000');
  return { origins, vpcId, instanceType, fleetSize, ecsClusterName: text('ecsCluster') };
}
