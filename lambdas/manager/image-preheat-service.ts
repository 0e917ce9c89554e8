import { DEFAULTS } from '../../core/constants.ts';
import { BadRequestError, ForbiddenError } from '../../core/errors.ts';
import { formatImageRef, parseImageRef, type ImageRef } from '../../core/image-ref.ts';
import type { Logger } from '../../core/log.ts';
import { registryBlobOf, registryBlobUrl, registryEntryAdmits, admittedRegistryBlob } from '../../core/registry-blob.ts';
import type { RegistryUpstreams } from '../../core/registry-upstreams.ts';
import type { ImagePreheatRequest, ImagePreheatSummary } from '../../core/wire/image-preheat.ts';
import type { ClusterStore } from '../domain/cluster.ts';
import type { HostStore } from '../domain/host.ts';
import { DEFAULT_PLATFORM, readManifest, type ImageBlob } from '../domain/image-manifest.ts';
import type { ImageRegistry } from '../domain/image-registry.ts';
import { newPreheatJobId, preheatItemId, type PreheatJob, type PreheatSource, type PreheatStore } from '../domain/preheat.ts';

export interface ImagePreheatServiceOptions {
  readonly jobs: Pick<PreheatStore, 'create'>;
  readonly hosts: Pick<HostStore, 'liveSeeds'>;
  readonly clusters: Pick<ClusterStore, 'get' | 'list'>;
  readonly registry: ImageRegistry;
  /** Registry host → the URL the agents' mirrors use for it (their `--registry-upstream`), so task URLs match. */
  readonly upstreams: RegistryUpstreams;
  readonly log: Logger;
  /** Seeds seen within this long count as live when a job's sites are chosen. */
  readonly seedLiveMs: number;
  readonly now?: () => number;
}

/** Index → manifest is one hop; more is refused. */
const MAX_HOPS = 2;

/**
 * Image preheat: resolve a ref to its platform's manifest with the deployment's registry
 * credentials, then open one preheat job for the image with one item per blob (config and
 * layers), each item's URL the blob's task URL as the mirrors name it. Seeds prove their own access to each blob
 * (agent/registry/blob-preheat.ts) before the scheduler lets them fetch it.
 */
export class ImagePreheatService {
  constructor(private readonly deps: ImagePreheatServiceOptions) {}

  async create(request: ImagePreheatRequest, source: PreheatSource = 'api'): Promise<{ jobs: PreheatJob[]; image: ImagePreheatSummary }> {
    const ref = parseImageRef(request.ref);
    const cluster = request.cluster ?? DEFAULTS.site;
    const platform = request.platform ?? DEFAULT_PLATFORM;
    const registry = this.deps.upstreams.resolve(ref.registry);
    if (!registry) throw new BadRequestError(`no registry URL for ${ref.registry}`);
    const entries = (await this.deps.clusters.get(cluster))?.settings.allowedOrigins;
    // The scheduler's rule: only blobs a registry+ entry admits are tasks at all. Without a
    // cluster allowlist the deployment's (which the manager does not hold) decides at announce.
    const probe = registryBlobOf(`${registry}/v2/${ref.repository}/blobs/sha256:${'0'.repeat(64)}`);
    if (!probe) throw new BadRequestError(`${registry}/${ref.repository} names no registry repository`);
    if (entries && !admittedRegistryBlob({ kind: 'http', url: registryBlobUrl(probe) }, entries)) {
      throw new ForbiddenError(`${registry}/${ref.repository} is outside the allowed origins of cluster ${cluster} (add a registry+ entry)`);
    }
    const { digest: manifest, blobs } = await this.resolve(registry, ref, platform);
    const sites = request.sites ?? [...(await this.deps.hosts.liveSeeds(cluster, this.now() - this.deps.seedLiveMs)).keys()].sort();
    // One job for the image, one item per blob (lambdas/stores/preheat-items.ts, as a prefix job's objects).
    const now = this.now();
    const job: PreheatJob = { id: newPreheatJobId(now), cluster, url: registryManifestUrl(registry, ref.repository, manifest), sites, source, state: 'pending', createdAt: now, updatedAt: now, doneBy: {}, kind: 'image' };
    const items = blobs.map((blob) => ({ url: registryBlobUrl({ registry, repository: ref.repository, digest: blob.digest }), bytes: blob.size }));
    await this.deps.jobs.create(job, items);
    const bytes = items.reduce((sum, item) => sum + item.bytes, 0);
    const jobs: PreheatJob[] = [{ ...job, itemCount: items.length, itemsDone: 0, itemsFailed: 0, bytes, bytesDone: 0 }];
    const summary = blobs.map((blob, index) => ({ ...blob, url: items[index].url, jobId: job.id, itemId: preheatItemId(job.id, index) }));
    const image: ImagePreheatSummary = { ref: formatImageRef(ref), registry, repository: ref.repository, manifest, platform, blobs: summary };
    this.deps.log.info('image preheat created', { cluster, source, ref: image.ref, manifest, platform, blobs: blobs.length, sites });
    return { jobs, image };
  }

  /**
   * An image was pushed to ECR (EventBridge `ECR Image Action`, PUSH, SUCCESS): preheat it by
   * digest on every cluster whose preheatOrigins hold a `registry+` entry covering the repository.
   */
  async imagePushed(registryHost: string, repository: string, digest: string): Promise<PreheatJob[]> {
    const registry = this.deps.upstreams.resolve(registryHost);
    if (!registry) return [];
    const blob = registryBlobOf(`${registry}/v2/${repository}/blobs/${digest}`);
    if (!blob) throw new BadRequestError(`not an image: ${registryHost}/${repository}@${digest}`);
    const jobs: PreheatJob[] = [];
    for (const cluster of await this.deps.clusters.list()) {
      if (!cluster.settings.preheatOrigins?.some((entry) => registryEntryAdmits(entry, blob))) continue;
      jobs.push(...(await this.create({ kind: 'image', ref: `${registryHost}/${repository}@${digest}`, cluster: cluster.name }, 'ecr-event')).jobs);
    }
    return jobs;
  }

  private async resolve(registry: string, ref: ImageRef, platform: string): Promise<{ digest: string; blobs: readonly ImageBlob[] }> {
    let reference = ref.reference;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const document = await this.deps.registry.manifest(registry, ref.repository, reference);
      const digest = document.digest;
      const step = readManifest(document.mediaType, document.body, platform);
      if (step.kind === 'image') return { digest, blobs: step.blobs };
      reference = step.digest;
    }
    throw new BadRequestError(`${formatImageRef(ref)}: an index points to another index`);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

/** The URL an image job names: its platform manifest, by digest, on the registry the mirrors use. */
function registryManifestUrl(registry: string, repository: string, digest: string): string {
  return `${registry}/v2/${repository}/manifests/${digest}`;
}
