/**
 * `npm start`: the whole of Mayfly on this machine. Starts the local stack,
 * puts a generated artifact in the demo bucket, has every agent pull it at
 * once, prints the swarm report, then keeps running until Ctrl-C.
 *
 *   npm start -- [--agents N] [--size MiB] [--once] [--json] [--tree] [--image]
 *
 * With --tree, a small model tree instead, pulled by every agent with `mayfly get -r`.
 * With --image, a container image from an ECR stand-in, pulled by containerd through two agents' mirrors.
 */
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_API_PORT, DEFAULT_S3_PORT } from '../agent/config.ts';
import { LocalStack } from './local-stack.ts';
import { swarmPull, type SwarmReport } from './swarm-pull.ts';
import { MAYFLY_BIN } from './agent-process.ts';
import { LOCAL_S3_CREDENTIALS } from './s3-server.ts';
import { printTreeReport, treeDemo } from './tree-demo.ts';
import { imageDemo, missingImageTools, printImageReport } from './image-demo.ts';

// Node 20 is a supported target here; the SDK's notice about its future plans is noise in a demo.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '4' },
    size: { type: 'string', default: '256' },
    once: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
    tree: { type: 'boolean', default: false },
    image: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log('Usage: npm start -- [--agents N] [--size MiB] [--once] [--json] [--tree] [--image]');
  process.exit(0);
}
const agentCount = Number(values.agents);
const sizeMiB = Number(values.size);
if (!Number.isInteger(agentCount) || agentCount < 1 || agentCount > 32) fail('--agents must be an integer from 1 to 32');
if (!Number.isFinite(sizeMiB) || sizeMiB <= 0 || sizeMiB > 16384) fail('--size must be a number of MiB from 1 to 16384');

const say = (line: string) => {
  if (!values.json) console.log(line);
};

if (values.image) await runImageDemo();

const stack = await LocalStack.start();
let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(code);
};
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  say(`DynamoDB-compatible server (${stack.dynamo.kind}) ${stack.dynamo.endpoint}`);
  say(`S3-compatible server (s3rver) ${stack.s3Endpoint}, access key ${LOCAL_S3_CREDENTIALS.accessKeyId}, secret ${LOCAL_S3_CREDENTIALS.secretAccessKey}, region us-east-1`);
  say(`  agents read it through a byte-counting proxy at ${stack.origin.endpoint}`);
  say(`scheduler ${stack.scheduler.url}   manager ${stack.manager.url}`);
  if (values.tree) {
    const agents = await stack.startAgents(agentCount);
    say(`all ${agentCount} agents pull a model tree with mayfly get -r at once ...\n`);
    const report = await treeDemo(stack, agents);
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else printTreeReport(report);
    const ok = report.agents.every((agent) => agent.verified);
    if (values.once) await shutdown(ok ? 0 : 1);
    say(`\nThe stack keeps running; press Ctrl-C to stop.`);
    await new Promise(() => {});
  }
  const size = Math.round(sizeMiB * 1024 * 1024);
  say(`uploading a ${sizeMiB} MiB artifact to s3://${stack.bucket}/ ...`);
  const artifact = await stack.putArtifact(`artifacts/demo-${sizeMiB}MiB.bin`, size);
  say(`starting ${agentCount} agents ...`);
  // agent-1 answers on the README's ports when they are free, so its examples work as written.
  const readmePorts = (await portsFree([DEFAULT_API_PORT, DEFAULT_S3_PORT])) ? { MAYFLY_API_PORT: String(DEFAULT_API_PORT), MAYFLY_S3_PORT: String(DEFAULT_S3_PORT) } : {};
  const agents = [await stack.startAgent('agent-1', readmePorts), ...(await stack.startAgents(agentCount - 1))];
  for (const agent of agents) say(`  ${agent.name}: local API ${agent.apiUrl}   S3 endpoint ${agent.s3Url}`);
  say(`all ${agentCount} agents pull ${artifact.url} at once ...\n`);
  const report = await swarmPull(stack, artifact, agents);
  if (values.json) console.log(JSON.stringify(withoutPaths(report), null, 2));
  else printReport(report);
  const ok = report.agents.every((agent) => agent.sha256ok);
  if (values.once) await shutdown(ok ? 0 : 1);
  else {
    say(`\nThe stack keeps running. Pull more through any agent with the CLI, for example:\n`);
    const output = join(tmpdir(), 'mayfly-demo.bin');
    say(`  MAYFLY_API=${agents[0].apiUrl} node ${relative(MAYFLY_BIN)} get ${artifact.url} -o ${output}`);
    say(`  aws s3 cp ${artifact.url} ${output} --endpoint-url ${agents[0].s3Url} --no-sign-request`);
    say(`  curl -s ${stack.manager.url}/v1/health`);
    // A seed agent takes preheat jobs started from the console (and reads S3 first for new tasks).
    const seed = await stack.startAgent('seed-1', { MAYFLY_SEED: 'true' });
    say(`\nOperator console (the token rides in the #fragment):\n  ${stack.consoleUrl}`);
    say(`Agent metrics (Prometheus): curl -s ${agents[0].apiUrl}/metrics   seed agent: ${seed.apiUrl}/metrics`);
    say(`\nPress Ctrl-C to stop.`);
  }
} catch (error) {
  console.error(`mayfly start: ${(error as Error).message}`);
  await shutdown(1);
}

function printReport(report: SwarmReport): void {
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1).padStart(8);
  console.log('agent        seconds   from peers MiB  from S3 MiB  sha256');
  for (const agent of report.agents) {
    console.log(
      `${agent.agent.padEnd(12)} ${agent.seconds.toFixed(2).padStart(7)}   ${mib(agent.bytesFromPeers)}       ${mib(agent.bytesFromOrigin)}     ${agent.sha256ok ? 'ok' : 'MISMATCH'}`,
    );
  }
  const slowest = Math.max(...report.agents.map((agent) => agent.seconds));
  console.log(
    `\nobject ${(report.objectBytes / 1024 / 1024).toFixed(1)} MiB; S3 served ${(report.originBytes / 1024 / 1024).toFixed(1)} MiB ` +
      `(${(report.originBytes / report.objectBytes).toFixed(2)} × the object) to ${report.agents.length} agents; slowest agent ${slowest.toFixed(2)} s\n` +
      `the control plane read ${(report.digestBytes / 1024 / 1024).toFixed(1)} MiB to compute piece digests (in-region in AWS, not site egress)`,
  );
}

function withoutPaths(report: SwarmReport) {
  return { ...report, agents: report.agents.map(({ output: _output, ...rest }) => rest) };
}

/** True when every port can be bound on 127.0.0.1 right now. */
async function portsFree(ports: readonly number[]): Promise<boolean> {
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

function relative(path: string): string {
  return path.startsWith(process.cwd()) ? path.slice(process.cwd().length + 1) : path;
}

/** `--image`: its own stack beside the ECR stand-in (local/image-demo.ts); exits when done with --once. */
async function runImageDemo(): Promise<never> {
  const missing = missingImageTools();
  if (missing) fail(`--image needs the container tools: ${missing}`);
  try {
    const { report, stop } = await imageDemo(say);
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else printImageReport(report);
    const ok = report.agents.every((agent) => agent.verified);
    const shutdown = async (code: number) => {
      await stop();
      process.exit(code);
    };
    if (values.once) return await shutdown(ok ? 0 : 1);
    process.on('SIGINT', () => void shutdown(0));
    process.on('SIGTERM', () => void shutdown(0));
    say(`\nThe stand-in and the stack keep running; press Ctrl-C to stop.`);
    return await new Promise<never>(() => {});
  } catch (error) {
    console.error(`mayfly start: ${(error as Error).message}`);
    process.exit(1);
  }
}

function fail(message: string): never {
  console.error(`mayfly start: ${message}`);
  process.exit(2);
}
