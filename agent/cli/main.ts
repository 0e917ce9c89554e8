import { MayflyError } from '../../core/errors.ts';
import { AGENT_HELP, agentCommand } from './agent-command.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';
import { GET_HELP, getCommand } from './get-command.ts';

const HELP = `Usage: mayfly <command> [options]

Commands:
  agent    run the agent on this host
  get      pull s3://BUCKET/KEY to a file through the local agent

Run 'mayfly <command> --help' for a command's options.`;

const COMMANDS: Record<string, { run: (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>; help: string }> = {
  agent: { run: agentCommand, help: AGENT_HELP },
  get: { run: getCommand, help: GET_HELP },
};

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${HELP}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`mayfly: unknown command ${JSON.stringify(name)}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, env);
  } catch (error) {
    const message = error instanceof MayflyError ? error.message : (error as Error).message;
    process.stderr.write(`mayfly ${name}: ${message}\n`);
    if (error instanceof MayflyError && error.code === 'BadRequest') process.stderr.write(`Run 'mayfly ${name} --help' for usage.\n`);
    return exitCodeOf(error);
  }
}

process.exitCode = await main(process.argv.slice(2), process.env);
