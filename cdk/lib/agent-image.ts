import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_NODE_OPTIONS } from '../../core/constants.ts';
import { buildBundleOnce, REPO_ROOT, scratchFolder } from './local-bundle.ts';

/** The agent image's user: `node` (uid 1000) in the official Node images. */
export const AGENT_IMAGE_USER = '1000:1000';
/** Where the image keeps the piece cache; a Docker volume mounted here starts owned by the user. */
export const AGENT_IMAGE_CACHE = '/var/cache/mayfly';

const DIGEST_PINNED = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

/** Whether `image` names its content by digest (`repo[:tag]@sha256:<64 hex>`), so every build starts from the same bytes. */
export function isDigestPinned(image: string): boolean {
  return DIGEST_PINNED.test(image);
}

/**
 * A Docker build context: the agent bundle, the entrypoint that reads the host's instance
 * metadata (cdk/agent-image/entrypoint.mjs) and a Dockerfile on `baseImage`. Docker is needed
 * only when the image is published (`cdk deploy`), never for `cdk synth`.
 * @throws Error when `baseImage` is not pinned by digest
 */
export function agentImageContext(baseImage: string): string {
  if (!isDigestPinned(baseImage)) {
    throw new Error(`agent image: base image ${JSON.stringify(baseImage)} must be pinned by digest (name:tag@sha256:<64 hex>)`);
  }
  const context = scratchFolder('mayfly-agent-image-');
  cpSync(join(buildBundleOnce('agent'), 'mayfly.mjs'), join(context, 'mayfly.mjs'));
  cpSync(join(REPO_ROOT, 'cdk', 'agent-image', 'entrypoint.mjs'), join(context, 'entrypoint.mjs'));
  writeFileSync(
    join(context, 'Dockerfile'),
    [
      `FROM ${baseImage}`,
      'COPY mayfly.mjs entrypoint.mjs /opt/mayfly/',
      // A new Docker volume mounted on this folder takes its owner, so the unprivileged
      // agent can write its cache without anything running as root.
      `RUN install -d -o node -g node -m 0750 ${AGENT_IMAGE_CACHE}`,
      `USER ${AGENT_IMAGE_USER}`,
      `ENTRYPOINT ${JSON.stringify(['node', ...AGENT_NODE_OPTIONS, '/opt/mayfly/entrypoint.mjs'])}`,
      '',
    ].join('\n'),
  );
  return context;
}
