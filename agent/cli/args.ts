import { BadRequestError } from '../../core/errors.ts';

export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Record<string, string | boolean>;
}

/**
 * `--name value`, `--name=value`, `-o value` and boolean `--flag`. Only the
 * names in `known` are accepted, so a typo is a usage error, not a silent no-op.
 */
export function parseArgs(argv: readonly string[], known: { strings: readonly string[]; booleans: readonly string[]; aliases?: Record<string, string> }): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let name = arg.replace(/^--?/, '');
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    name = known.aliases?.[name] ?? name;
    if (known.booleans.includes(name)) {
      if (value !== undefined) throw new BadRequestError(`--${name} takes no value`);
      flags[name] = true;
    } else if (known.strings.includes(name)) {
      value ??= argv[++i];
      if (value === undefined) throw new BadRequestError(`--${name} needs a value`);
      flags[name] = value;
    } else {
      throw new BadRequestError(`unknown option ${arg}`);
    }
  }
  return { positionals, flags };
}
