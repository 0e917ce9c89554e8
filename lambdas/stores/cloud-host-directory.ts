import { DescribeContainerInstancesCommand, DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { UnavailableError } from '../../core/errors.ts';
import type { HostDirectory, HostQuery, HostRecord } from '../domain/host-directory.ts';
import { Ec2InstanceReader, type Ec2Instance } from './ec2-instance-reader.ts';

/** EC2 ids an instance role's session carries (`i-` and 8 or 17 hex digits). */
const INSTANCE_ID = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;
/** An ECS task id (the last part of its ARN). */
const ECS_TASK_ID = /^[0-9a-f]{32}$/;
const LIVE_STATES = new Set(['pending', 'running']);

/** Where the control plane reaches EC2 and ECS: the region's endpoints in AWS, stand-ins in tests. */
export interface CloudHostDirectoryOptions {
  readonly region?: string;
  readonly ec2Endpoint?: string;
  readonly ecsEndpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * The cloud's own records of fleet hosts. An EC2 caller (session = instance id):
 * one DescribeInstances (ec2-instance-reader.ts). An ECS caller (session = task id, role mapped to its ECS
 * cluster): DescribeTasks (zone, container instance), DescribeContainerInstances
 * (its EC2 instance) and DescribeInstances (the addresses: the daemon uses host
 * networking). Only pending or running hosts count. Needs ec2:DescribeInstances,
 * ecs:DescribeTasks and ecs:DescribeContainerInstances (MayflyControlPlane grants them).
 */
export class CloudHostDirectory implements HostDirectory {
  private readonly ec2: Ec2InstanceReader;
  private readonly ecs: ECSClient;

  constructor(options: CloudHostDirectoryOptions = {}) {
    const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
    const common = { region, ...(options.credentials ? { credentials: options.credentials } : {}), maxAttempts: 2 };
    this.ec2 = new Ec2InstanceReader({ region, endpoint: options.ec2Endpoint, credentials: options.credentials });
    this.ecs = new ECSClient({ ...common, ...(options.ecsEndpoint ? { endpoint: options.ecsEndpoint } : {}) });
  }

  async lookup({ peerId, ecsCluster }: HostQuery): Promise<HostRecord | undefined> {
    if (ecsCluster) return ECS_TASK_ID.test(peerId) ? this.ecsTask(ecsCluster, peerId) : undefined;
    if (!INSTANCE_ID.test(peerId)) return undefined;
    const instance = await this.instance(peerId);
    return instance ? { site: instance.zone, addrs: instance.addrs } : undefined;
  }

  private async ecsTask(cluster: string, taskId: string): Promise<HostRecord | undefined> {
    const { tasks, failures } = await cloudCall('ecs:DescribeTasks', () => this.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskId] })));
    // ECS names a task it does not know in `failures`; an answer with neither list is no answer.
    if (!tasks && !failures) throw new UnavailableError('cannot look up the caller\'s host (ecs:DescribeTasks: an empty answer)', { context: { retryAfterMs: 2000 } });
    const task = tasks?.[0];
    if (!task?.availabilityZone || !task.containerInstanceArn || !LIVE_STATES.has((task.lastStatus ?? '').toLowerCase())) return undefined;
    const { containerInstances } = await cloudCall('ecs:DescribeContainerInstances', () =>
      this.ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: [task.containerInstanceArn!] })),
    );
    const instanceId = containerInstances?.[0]?.ec2InstanceId;
    const instance = instanceId ? await this.instance(instanceId) : undefined;
    return instance ? { site: task.availabilityZone, addrs: instance.addrs } : undefined;
  }

  private async instance(instanceId: string): Promise<Ec2Instance | undefined> {
    const instance = await this.ec2.describe(instanceId);
    return instance && LIVE_STATES.has(instance.state) ? instance : undefined;
  }
}

/** An ECS API failure as UnavailableError (503 + Retry-After). */
async function cloudCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const name = (error as { name?: string })?.name ?? 'Error';
    throw new UnavailableError(`cannot look up the caller's host (${operation}: ${name})`, { cause: error, context: { operation, retryAfterMs: 2000 } });
  }
}
