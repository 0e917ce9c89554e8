import { BadRequestError } from '../../core/errors.ts';
import { ConsoleProxy } from './console-proxy.ts';
import { createSigV4Signer } from '../control/sigv4-signer.ts';
import { parseArgs } from './args.ts';
import { EXIT } from './exit-codes.ts';

export const DEFAULT_CONSOLE_PORT = 7404;

export const CONSOLE_HELP = `Usage: mayfly console --manager URL [options]

Opens a deployed Mayfly's console on this machine. The manager's Function URL admits only
requests signed with AWS SigV4, which a browser cannot make: this serves the console on
loopback and signs every call with your AWS credentials (the standard chain: environment,
~/.aws, SSO), so IAM decides who may operate Mayfly.

Options:
      --manager URL      the stack's ManagerUrl output (MAYFLY_MANAGER_URL, required)
      --region REGION    signing region (default: read from the Function URL, else AWS_REGION)
      --port N           local port (default ${DEFAULT_CONSOLE_PORT}, 0 = any)
      --host ADDR        local bind address (default 127.0.0.1)
  -h, --help             this help

Prints the console's address, then serves until interrupted (Ctrl-C).
Exit codes: 0 ok, 2 usage, 1 other failure.`;

export async function consoleCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { strings: ['manager', 'region', 'port', 'host'], booleans: ['help'], aliases: { h: 'help' } });
  if (flags.help) {
    process.stdout.write(`${CONSOLE_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new BadRequestError(`unexpected argument ${positionals[0]}`);
  const managerUrl = (typeof flags.manager === 'string' ? flags.manager : env.MAYFLY_MANAGER_URL) ?? '';
  if (!/^https?:\/\/[^/]+/.test(managerUrl)) throw new BadRequestError('--manager must be the manager URL, e.g. https://….lambda-url.eu-west-1.on.aws/');
  const port = Number(flags.port ?? DEFAULT_CONSOLE_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new BadRequestError(`--port must be 0–65535, got ${JSON.stringify(flags.port)}`);
  const region = typeof flags.region === 'string' ? flags.region : undefined;
  const host = typeof flags.host === 'string' ? flags.host : '127.0.0.1';

  const proxy = new ConsoleProxy({ managerUrl, sign: createSigV4Signer({ region }), host, port });
  const bound = await proxy.start();
  // The page wants a token; the proxy replaces whatever it sends with a signature.
  process.stdout.write(`Mayfly console: http://${host}:${bound}/console#token=signed-by-mayfly-console (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await proxy.stop();
  return EXIT.ok;
}
