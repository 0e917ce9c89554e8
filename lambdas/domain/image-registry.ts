/** One manifest document as a registry answered it. */
export interface ManifestDocument {
  /** The answer's Content-Type. */
  readonly mediaType?: string;
  readonly body: unknown;
  /** sha256 of the bytes the registry sent (checked against the reference when it is a digest). */
  readonly digest: string;
}

/**
 * The manager's read of a registry for image preheat, with this deployment's own
 * credentials (configured, or an ECR token from its role). Errors: ForbiddenError when the
 * registry refuses them, NotFoundError for an unknown repository, tag or digest,
 * UnavailableError when it cannot be reached or fails.
 */
export interface ImageRegistry {
  /** `registry` is `http(s)://host[:port]`; `reference` a tag or `sha256:<hex>`. */
  manifest(registry: string, repository: string, reference: string): Promise<ManifestDocument>;
}
