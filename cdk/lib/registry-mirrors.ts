import { Aws } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ecrRegionOf } from '../../core/registry-credentials.ts';
import { acknowledgeWildcardResources } from './nag-acknowledgments.ts';

/** The container runtimes `mayfly setup` configures. */
export type ContainerRuntime = 'containerd' | 'crio' | 'podman';

/** The shell command that points `runtime` at the local agent's mirror for `registries` (run as root). */
export function runtimeSetupCommand(agentCommand: string, runtime: ContainerRuntime, registries: readonly string[]): string {
  for (const registry of registries) {
    if (!/^[a-z0-9.-]{1,253}(?::\d{1,5})?$/.test(registry)) throw new Error(`registryMirrors: ${JSON.stringify(registry)} is not a registry host[:port]`);
  }
  return `${agentCommand} setup ${runtime} --registry ${registries.join(',')}`;
}

/**
 * Lets `grantee` pull from the ECR registries among `registries` with its own role:
 * `ecr:GetAuthorizationToken` (no resource narrower than `*` exists) and the two read
 * actions an image pull makes, on that registry's repositories. Other registries need
 * configured credentials (MAYFLY_REGISTRY_CREDENTIALS). Returns how many registries were ECR.
 */
export function grantRegistryPulls(grantee: iam.IGrantable, registries: readonly string[]): number {
  const repositoryArns = registries.flatMap((host) => {
    const region = ecrRegionOf(host);
    return region ? [`arn:${Aws.PARTITION}:ecr:${region}:${host.split('.')[0]}:repository/*`] : [];
  });
  if (repositoryArns.length === 0) return 0;
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], resources: repositoryArns }));
  acknowledgeWildcardResources(grantee.grantPrincipal, ['*', ...repositoryArns], 'ecr:GetAuthorizationToken accepts only `*`; image preheats read every repository of the registries the deployment mirrors (registryMirrors).');
  return repositoryArns.length;
}

export interface MayflyImageEventsProps {
  /** The function that handles ECR `Image Action` events (the manager's preheat handler). */
  readonly handler: lambda.IFunction;
}

/**
 * ECR push wiring: every successful image push in this account and region (EventBridge
 * `ECR Image Action`, action-type PUSH, result SUCCESS) invokes the preheat handler, which
 * opens an image preheat on the clusters whose preheatOrigins hold a `registry+` entry for it.
 */
export class MayflyImageEvents extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: MayflyImageEventsProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'EcrPush', {
      description: 'Mayfly: preheat images pushed to ECR',
      eventPattern: { source: ['aws.ecr'], detailType: ['ECR Image Action'], detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] } },
      targets: [new targets.LambdaFunction(props.handler, { retryAttempts: 2 })],
    });
  }
}

/** Where each runtime reads its mirror configuration on the host (`mayfly setup`'s default config dir). */
const RUNTIME_CONFIG_DIRS: Record<ContainerRuntime, string> = { containerd: '/etc/containerd/certs.d', crio: '/etc/containers', podman: '/etc/containers' };
const HOST_CONFIG_VOLUME = 'runtime-mirror-config';

/**
 * An ECS daemon's runtime setup: a short-lived container of the agent image, started before
 * the agent, that runs `mayfly setup <runtime> --registry …` against the host's configuration
 * folder (bind-mounted). It runs as root (the folder is root's) with every capability dropped.
 */
export function addRuntimeSetupContainer(
  taskDefinition: ecs.TaskDefinition,
  image: ecs.ContainerImage,
  agent: ecs.ContainerDefinition,
  runtime: ContainerRuntime,
  registries: readonly string[],
): ecs.ContainerDefinition {
  const hostDir = RUNTIME_CONFIG_DIRS[runtime];
  taskDefinition.addVolume({ name: HOST_CONFIG_VOLUME, host: { sourcePath: hostDir } });
  const linuxParameters = new ecs.LinuxParameters(taskDefinition, 'RuntimeSetupLinux', { initProcessEnabled: true });
  linuxParameters.dropCapabilities(ecs.Capability.ALL);
  const setup = taskDefinition.addContainer('RuntimeSetup', {
    image,
    essential: false,
    memoryLimitMiB: 128,
    user: '0:0',
    privileged: false,
    readonlyRootFilesystem: true,
    linuxParameters,
    entryPoint: runtimeSetupCommand('node /opt/mayfly/mayfly.mjs', runtime, registries).split(' ').concat(['--config-dir', hostDir]),
  });
  setup.addMountPoints({ sourceVolume: HOST_CONFIG_VOLUME, containerPath: hostDir, readOnly: false });
  agent.addContainerDependencies({ container: setup, condition: ecs.ContainerDependencyCondition.SUCCESS });
  return setup;
}
