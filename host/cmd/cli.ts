// host/cmd/cli.ts: the `qenex` command. Dispatches to host/cmd/<command>.ts;
// every failure is one line on stderr and a non-zero exit code.

import '../compat.ts'; // first: fills in what Node 18 lacks
import { CliError, EXIT_USAGE } from './args.ts';
import * as keygen from './keygen.ts';
import * as build from './build.ts';
import * as sign from './sign.ts';
import * as inspect from './inspect.ts';
import * as boot from './boot.ts';
import * as replay from './replay.ts';
import * as audit from './audit.ts';
import * as keys from './keys.ts';
import * as lists from './lists.ts';
import { casesCommand, complianceCommand, rulesCommand } from './compliance.ts';
import * as sim from './sim.ts';
import * as scaffold from './new.ts';
import * as liveLoad from './load.ts';
import * as migrate from './migrate.ts';
import * as log from './log.ts';
import * as cluster from './cluster.ts';
import { VERSION } from '../base/version.ts';

const COMMANDS: Record<string, { main(argv: string[]): Promise<number>; USAGE: string }> = {
  keygen, build, sign, inspect, boot, replay, migrate, log, cluster, keys, lists, new: scaffold, sim, audit,
  load: liveLoad.load, upgrade: liveLoad.upgrade, unload: liveLoad.unload, rules: rulesCommand, cases: casesCommand, compliance: complianceCommand,
};

const HELP = `usage: qenex <command> [options]
       qenex --version

commands:
  keygen   --out <dir> | --hsm pkcs11 --label L  ECDSA P-384 + ML-DSA-65 signing keys (files or HSM)
  build    <image-dir> -o <file.qxi> [--key k]  check the manifest, pack (and sign) an image
  sign     <file.qxi|module.wasm> --key <k>     sign an image, or a service module (writes <module.wasm>.sig)
  inspect  <file.qxi> [--json]                  show manifest, sections, digests, signers
  boot     <file.qxi> --data <dir> --trust <signing.pub> [--listen host:port] [--once] [--cluster <nats urls> --node <name>]
  cluster  status --cluster <nats urls>          a cluster's leader, term, positions, lag and state hashes
  replay   --data <dir>                         rebuild state from the log, print its hash
  migrate  --data <dir>                         check a data directory's formats; migrate it when this build can
  audit    verify|prove|consistency|check-proof  check the log's hash chain, Merkle tree and signed checkpoints
  log      archive --data <dir> [--to <dir>] [--compress]  move log segments a snapshot covers to an archive
  keys     create|list|revoke (--data <dir> | --url <base> --key <k>)  API keys of the gateway
  lists    import|status (--data <dir> | --url <base> --key <k>)  sanctions lists the compliance service screens against
  rules    get|set --file rules.json (--data <dir> | --url <base> --key <k>)  the compliance monitoring rules and limits
  cases    list|show|assign|escalate|close (--data <dir> | --url <base> --key <k>)  compliance alerts and their cases
  compliance report --from <t> --to <t> [--format json|csv] [--out f] --url <base> --key <k>  a signed compliance report
  compliance verify <file> --trust <signing.pub>   check a saved compliance report's signatures
  sim      [--seed N] [--steps K]                deterministic simulation: faulty disk, network, clock, crashes
  new      service <name> [--manifest m.json]   scaffold services/<name> (source + passing test)
  load     <module.wasm> --as <name> --url <u> --key <k> [--caps a,b]  load a signed service into a running system
  upgrade  <name> <module.wasm> --url <u> --key <k>  replace a service's code, keeping its state
  unload   <name> --url <u> --key <k>           unload a live-loaded service

\`qenex <command> --help\` shows each command's options.
`;

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT_USAGE : 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`qenex ${VERSION}\n`);
    return 0;
  }
  const cmd = COMMANDS[command];
  if (cmd === undefined) throw new CliError(`unknown command "${command}" (try qenex --help)`, EXIT_USAGE);
  return cmd.main(rest);
}

run(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof CliError) {
      process.stderr.write(`qenex: ${e.message}\n`);
      process.exitCode = e.exitCode;
    } else {
      const err = e as Error;
      process.stderr.write(`qenex: internal error: ${err?.message ?? String(e)}\n`);
      if (process.env.QENEX_DEBUG) process.stderr.write(`${err?.stack}\n`);
      process.exitCode = 70;
    }
  },
);
