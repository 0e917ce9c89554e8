// The ECS agent image's entrypoint. With host networking the task sees the host's instance
// metadata (IMDSv2, one hop); from it the agent learns what a container cannot know:
// region, site (availability zone) and the address peers reach it on. Its peer id is its
// ECS task id (from the task metadata endpoint): the task role's session name, which the
// scheduler binds the caller to. A value set in the task's environment wins. Any missing
// value stops the task with a message instead of an agent announcing an empty or wrong identity.
import { pathToFileURL } from 'node:url';

const IMDS = 'http://169.254.169.254';
// Where the Dockerfile puts the bundle; tests point both at stand-ins.
const AGENT_BUNDLE = process.env.MAYFLY_AGENT_BUNDLE || '/opt/mayfly/mayfly.mjs';

/** Environment variable → instance metadata path it is filled from. */
export const METADATA_ENVIRONMENT = {
  AWS_REGION: 'placement/region',
  MAYFLY_SITE: 'placement/availability-zone',
  MAYFLY_PEER_ID: 'instance-id',
  MAYFLY_ADVERTISE_HOST: 'local-ipv4',
};

/**
 * Reads the values `env` lacks from IMDSv2 at `base`; returns only those.
 * @throws Error naming the path that failed or came back empty
 */
export async function metadataEnvironment(env, base = IMDS, timeoutMs = 2000) {
  const missing = Object.entries(METADATA_ENVIRONMENT).filter(([name]) => !env[name]);
  if (missing.length === 0) return {};
  const call = async (path, init) => {
    const response = await fetch(`${base}/latest/${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = (await response.text()).trim();
    if (!response.ok) throw new Error(`instance metadata ${path}: HTTP ${response.status}`);
    if (!text) throw new Error(`instance metadata ${path}: empty`);
    return text;
  };
  const token = await call('api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' } });
  const found = {};
  for (const [name, path] of missing) found[name] = await call(`meta-data/${path}`, { headers: { 'X-aws-ec2-metadata-token': token } });
  return found;
}

/**
 * The ECS task id (the last part of the task ARN) from the task metadata endpoint v4,
 * or undefined outside ECS (`metadataUri` unset).
 * @throws Error when the endpoint is set but does not answer with a task ARN
 */
export async function ecsTaskId(metadataUri, timeoutMs = 2000) {
  if (!metadataUri) return undefined;
  const response = await fetch(`${metadataUri}/task`, { signal: AbortSignal.timeout(timeoutMs) });
  const arn = response.ok ? (await response.json()).TaskARN : undefined;
  if (typeof arn !== 'string' || !arn.includes('/')) throw new Error(`task metadata: no task ARN (HTTP ${response.status})`);
  return arn.slice(arn.lastIndexOf('/') + 1);
}

async function main() {
  let found;
  for (let attempt = 1; ; attempt++) {
    try {
      const taskId = process.env.MAYFLY_PEER_ID ? undefined : await ecsTaskId(process.env.ECS_CONTAINER_METADATA_URI_V4);
      const env = taskId ? { ...process.env, MAYFLY_PEER_ID: taskId } : process.env;
      found = { ...(taskId ? { MAYFLY_PEER_ID: taskId } : {}), ...(await metadataEnvironment(env, process.env.MAYFLY_IMDS_ENDPOINT || IMDS)) };
      break;
    } catch (error) {
      if (attempt === 3) {
        process.stderr.write(`mayfly entrypoint: ${error.message}; set AWS_REGION, MAYFLY_SITE, MAYFLY_PEER_ID and MAYFLY_ADVERTISE_HOST or allow IMDSv2 and the ECS task metadata endpoint\n`);
        process.exit(1);
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
  Object.assign(process.env, found);
  // The bundle runs its CLI on import, reading argv and the environment.
  process.argv = [process.argv[0], AGENT_BUNDLE, 'agent', ...process.argv.slice(2)];
  await import(pathToFileURL(AGENT_BUNDLE).href);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
