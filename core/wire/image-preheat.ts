import { z } from 'zod';
import { clusterNameSchema, siteSchema } from '../ids.ts';

/**
 * `POST /v1/preheats` with `kind: "image"`: every blob of an image (its config and layers)
 * on the seeds, one preheat job with one item per blob. The ref names the registry (core/image-ref.ts).
 */
export const imagePreheatRequestSchema = z.strictObject({
  kind: z.literal('image'),
  /** `<registry>/<repository>:<tag>` or `<registry>/<repository>@sha256:<hex>`. */
  ref: z.string().min(1).max(512),
  /** `os/arch[/variant]` picked from an image index; default linux/amd64. */
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/, 'must be os/arch[/variant], e.g. linux/arm64').optional(),
  cluster: clusterNameSchema.optional(),
  /** Sites whose seeds must hold the image; absent: the sites that have live seeds now. */
  sites: z.array(siteSchema).min(1).max(64).optional(),
});
export type ImagePreheatRequest = z.infer<typeof imagePreheatRequestSchema>;

/** One blob of a preheated image and the job that puts it on the seeds. */
export interface ImagePreheatBlob {
  readonly digest: string;
  readonly size: number;
  readonly kind: 'config' | 'layer';
  /** The blob's task URL (core/registry-blob.ts). */
  readonly url: string;
  /** The image's job. */
  readonly jobId: string;
  /** This blob's item of that job (`GET /v1/preheats/<itemId>` reads it alone). */
  readonly itemId: string;
}

/** What the manager answers an image preheat with (besides `jobs`). */
export interface ImagePreheatSummary {
  readonly ref: string;
  readonly registry: string;
  readonly repository: string;
  /** The platform's image manifest. */
  readonly manifest: string;
  readonly platform: string;
  readonly blobs: readonly ImagePreheatBlob[];
}
