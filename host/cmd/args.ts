// host/cmd/args.ts: the small argv parser and error type shared by commands.
//
// host/cmd/cli.ts dispatches `qenex <command> ...argv` to `main(argv)` of
// host/cmd/<command>.ts and prints a thrown CliError as one line on stderr,
// exiting with its exitCode: 2 for usage errors, 1 for failures.
//
// Use:
//   const args = parseArgs(argv, { values: ['out'], booleans: ['force'], aliases: { o: 'out' } });
//   if (args.help) { io.out(USAGE); return 0; }

export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, public exitCode = 1) {
    super(message);
  }
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface ArgSpec {
  /** Flags that take a value: `--name value` or `--name=value`. */
  values?: readonly string[];
  /** Flags without a value: `--name`. */
  booleans?: readonly string[];
  /** One-letter aliases: `-o` for `out`. */
  aliases?: Readonly<Record<string, string>>;
  /** How many positionals are allowed; missing ones are a usage error. */
  positionals?: { min: number; max: number; names?: readonly string[] };
}

export interface ParsedArgs {
  help: boolean;
  values: Map<string, string>;
  booleans: Set<string>;
  positionals: string[];
}

// Bounds the loop below; no command needs anywhere near this many arguments.
const ARGV_LENGTH_MAX = 256;

/** Parses argv; unknown flags, missing values and repeats throw CliError (exit 2). */
export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  if (argv.length > ARGV_LENGTH_MAX) throw new CliError(`too many arguments (${argv.length})`, EXIT_USAGE);
  const result: ParsedArgs = { help: false, values: new Map(), booleans: new Set(), positionals: [] };
  if (argv.includes('--help') || argv.includes('-h')) {
    result.help = true;
    return result;
  }
  const values = spec.values ?? [];
  const booleans = spec.booleans ?? [];
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (onlyPositionals || arg === '-' || !arg.startsWith('-')) {
      result.positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    const { flag, inline } = splitFlag(arg, spec);
    if (values.includes(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith('-') && value !== '-')) {
        throw new CliError(`${arg} needs a value`, EXIT_USAGE);
      }
      if (result.values.has(flag)) throw new CliError(`--${flag} given more than once`, EXIT_USAGE);
      result.values.set(flag, value);
    } else if (booleans.includes(flag)) {
      if (inline !== undefined) throw new CliError(`--${flag} takes no value`, EXIT_USAGE);
      result.booleans.add(flag);
    } else {
      throw new CliError(`unknown option ${arg}`, EXIT_USAGE);
    }
  }
  checkPositionals(result.positionals, spec);
  return result;
}

function splitFlag(arg: string, spec: ArgSpec): { flag: string; inline: string | undefined } {
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    return eq < 0 ? { flag: arg.slice(2), inline: undefined } : { flag: arg.slice(2, eq), inline: arg.slice(eq + 1) };
  }
  const alias = spec.aliases?.[arg.slice(1)];
  if (alias === undefined) throw new CliError(`unknown option ${arg}`, EXIT_USAGE);
  return { flag: alias, inline: undefined };
}

function checkPositionals(positionals: string[], spec: ArgSpec): void {
  const { min, max, names } = spec.positionals ?? { min: 0, max: 0 };
  if (positionals.length < min) {
    const missing = names?.[positionals.length] ?? 'argument';
    throw new CliError(`missing ${missing}`, EXIT_USAGE);
  }
  if (positionals.length > max) throw new CliError(`unexpected argument ${positionals[max]}`, EXIT_USAGE);
}

/** Where a command writes its normal output; tests pass a collector. */
export interface CommandIo {
  out(text: string): void;
  /** Notices and warnings; stderr by default. */
  err?(text: string): void;
}

export const processIo: CommandIo = {
  out: (text) => {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  },
  err: (text) => {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  },
};

/**
 * Turns an expected failure (one of `expected` error classes, or a Node
 * system error such as ENOENT) into a CliError with exit code 1; anything
 * else is a bug and is rethrown unchanged so its stack is not lost.
 */
export function asCliError(e: unknown, expected: readonly (abstract new (...args: never[]) => Error)[]): unknown {
  if (e instanceof CliError) return e;
  if (e instanceof Error && expected.some((cls) => e instanceof cls)) return new CliError(e.message, EXIT_FAILURE);
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).syscall) {
    return new CliError(e.message, EXIT_FAILURE);
  }
  return e;
}
