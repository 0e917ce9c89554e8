import { MayflyError } from '../../core/errors.ts';
import { AGENT_VERSION } from '../version.ts';
import { describeErrno } from './stream-object.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';

const HELP = `Usage: mayfly <command> [options]

Commands:
  agent    run the agent on this host
  get      pull an s3:// or http(s):// URL to a file or stdout (or a byte range of it) through the local agent
  stat     show an object's swarm: peers, their progress, bytes from S3 and from peers
  cache    list, remove or garbage-collect the local agent's cache
  console  open a deployed Mayfly's console on this machine (signs its calls with your AWS credentials)
  scheduler  run the scheduler on Node against any DynamoDB and S3 endpoints (self-hosted control plane)
  manager    run the manager on Node against any DynamoDB and S3 endpoints (self-hosted control plane)
  setup    point containerd, CRI-O or podman at this host's agent as their registry mirror (--undo restores)

Run 'mayfly <command> --help' for a command's options; 'mayfly --version' prints the version.`;

type Command = (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>;

// Loaded on use: `mayfly get` and `mayfly stat` start without loading the agent and the AWS SDK.
const COMMANDS: Record<string, () => Promise<Command>> = {
  agent: async () => (await import('./agent-command.ts')).agentCommand,
  get: async () => (await import('./get-command.ts')).getCommand,
  stat: async () => (await import('./stat-command.ts')).statCommand,
  cache: async () => (await import('./cache-command.ts')).cacheCommand,
  console: async () => (await import('./console-command.ts')).consoleCommand,
  setup: async () => (await import('./setup-command.ts')).setupCommand,
};

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${HELP}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`mayfly ${AGENT_VERSION}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[name];
  if (!load && (name === 'scheduler' || name === 'manager')) {
    // The launcher (agent/bin/mayfly.mjs) runs these; the bundled agent (dist/mayfly.mjs) does not carry the control plane.
    process.stderr.write(`mayfly: this build holds the agent only; run the ${name} from the repository: node agent/bin/mayfly.mjs ${name} --help\n`);
    return EXIT.usage;
  }
  if (!load) {
    process.stderr.write(`mayfly: unknown command ${JSON.stringify(name)}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  try {
    const run = await load();
    return await run(rest, env);
  } catch (error) {
    const message = error instanceof MayflyError ? error.message : (error as Error).message;
    process.stderr.write(`mayfly ${name}: ${message}\n`);
    if (error instanceof MayflyError && error.code === 'BadRequest') process.stderr.write(`Run 'mayfly ${name} --help' for usage.\n`);
    return exitCodeOf(error);
  }
}

// A reader that stops early (`mayfly cache ls | head -1`) is not an error: stop quietly.
// Any other failure to write stdout (a full disk under `-o - > file`) is the user's storage: exit 7.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') {
    process.stderr.write(`mayfly: cannot write stdout: ${describeErrno(error)}\n`);
    process.exit(EXIT.storage);
  }
  process.exit(process.exitCode ?? EXIT.ok);
});
process.exitCode = await main(process.argv.slice(2), process.env);
