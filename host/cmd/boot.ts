// host/cmd/boot.ts: `qenex boot` — verify an image, boot it on a data
// directory, report readiness with the state hash, and serve until a signal.

import { loadTls, TlsConfigError, type TlsListen } from '../devices/tls.ts';
import { parseArgs, CliError, EXIT_USAGE, asCliError, processIo, type CommandIo } from './args.ts';
import { openImage, parseImage, readImageFile, ImageError } from '../image.ts';
import { loadPublicKeys, KeyError, type PublicKey } from '../base/keys.ts';
import { Machine, BootError, type MachineOptions } from '../machine.ts';
import { bootClustered, clusterFromArgs } from './cluster.ts';
import { serve, type Serving } from './serve.ts';
import { BlockBackendError, type BackendChoice } from '../devices/block-backend.ts';
import { DataKeyError } from '../datakey.ts';
import { HsmError, openHsm, parseHsmKind, type HsmDevice } from '../hsm/hsm.ts';
import { hsmUsers } from '../hsm/device.ts';
import type { Manifest } from '../manifest.ts';
import { signerFromArgs, type OpenedSigner } from './signer.ts';
import { setMlDsaSigner } from '../base/keys.ts';
import { startMlDsaWorker } from '../audit/mldsa-worker.ts';
import { stdoutLines, type LineWriter } from '../base/lines.ts';
import { fixConfig, FixConfigError, takeFixFlags, type FixConfig, type FixFlags } from '../fix/config.ts';

export const USAGE = `usage: qenex boot <file.qxi> --data <dir> --trust <signing.pub> [--listen host:port] [--once] [--backend auto|native|pure]
       [--tls-cert <cert.pem> --tls-key <key.pem> [--tls-client-ca <ca.pem>]] [--archive <dir>]
       [--fix-listen host:port --fix-session <OurCompID>:<TheirCompID> ... [--fix-option name=value ...]]
       [--cluster <nats url,...> --node <name> [--nats-creds <file>] [--nats-ca <ca.pem>] [--seed]]
       qenex boot <file.qxi> --data <dir> --insecure-unsigned ...   (development only)

Verifies the image (every section digest, and both signatures, ECDSA P-384
and ML-DSA-65, against the keys in --trust; a missing, wrong or mismatched
signature stops boot naming which one),
replays the command log in --data, and prints one JSON line with
"event":"ready", the state_hash and boot_ms. With --once it stops cleanly
after that line; otherwise it serves (on --listen) until SIGINT or SIGTERM,
then flushes, prints "event":"stopped" and exits 0.
Log segments moved out by \`qenex log archive\` are read from --archive
(default <data>/archive) when the boot replays that far back.
--insecure-unsigned skips signature checks (digests are still checked) and
says so loudly on stderr: for development, never for production.

Audit checkpoints (manifest audit.checkpoint_interval) are signed with
--audit-key <signing.key>, or --hsm pkcs11|soft --label <label> (the HSM
key set; QENEX_PKCS11_* for module, token and PIN). Without either, the
kernel's checkpoints are skipped and a warning says so.

With --tls-cert and --tls-key the listener speaks TLS 1.2+ only (HTTP and
binary frames alike); --tls-client-ca makes it mutual TLS: a client without a
certificate chaining to that CA is refused at the handshake. API keys still
decide what each request may do.

With --fix-listen the FIX 4.4 acceptor listens there for the sessions named
by --fix-session (repeatable); --fix-option name=value (repeatable) sets an
option of every session: reset_on_logon, reset_on_logout,
reset_on_disconnect, validate, keys (true|false), max_latency_s,
heartbeat_min_s, heartbeat_max_s (seconds), allowed_sources (IPs and CIDR
blocks, comma-separated), tls_cert, tls_key, tls_client_ca (PEM files). The
manifest's "fix" object may say the same; the flags override it
(docs/fix.md "The acceptor").

With --cluster the machine is a node of a cluster (docs/cluster.md): it
follows the command log kept on those NATS servers (JetStream), prints
"event":"following", and prints the ready line (with "role":"leader" and the
term) only when it leads; --nats-creds is its NKey seed or credentials file,
--nats-ca the CA of the servers' certificates. --seed makes this data
directory's log the first history of a cluster whose stream is empty.

When the manifest grants services HSM keys (services[].hsm_keys, or
capability hsm_random), the HSM device opens the PKCS#11 token named by
QENEX_PKCS11_MODULE / QENEX_PKCS11_TOKEN / QENEX_PKCS11_PIN, or the token
--hsm pkcs11|soft names (--hsm without --label picks only this token).
`;

/** The warning --insecure-unsigned prints; loud on purpose. */
export const INSECURE_WARNING =
  'qenex: WARNING: --insecure-unsigned: image signatures are NOT verified; ' +
  'anyone who can write the image can run code here. Development only.';

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || m[1] === '' || !(port >= 0 && port <= 65535)) {
    throw new CliError(`--listen wants host:port (e.g. 127.0.0.1:7000), got "${value}"`, EXIT_USAGE);
  }
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/** --tls-cert and --tls-key (both or neither), --tls-client-ca only with them. */
function tlsFromArgs(values: Map<string, string>): TlsListen | null {
  const cert = values.get('tls-cert');
  const key = values.get('tls-key');
  const clientCa = values.get('tls-client-ca');
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined) throw new CliError('--tls-client-ca needs --tls-cert and --tls-key', EXIT_USAGE);
    return null;
  }
  if (cert === undefined || key === undefined) throw new CliError('give both --tls-cert and --tls-key', EXIT_USAGE);
  try {
    return loadTls({ cert, key, clientCa });
  } catch (e) {
    if (e instanceof TlsConfigError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
}

function backendChoice(value: string | undefined): BackendChoice {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'native' || value === 'pure') return value;
  throw new CliError(`--backend must be auto, native or pure, got "${value}"`, EXIT_USAGE);
}

/** The FIX flags taken out of argv (they repeat, which the shared parser refuses). */
function splitFixFlags(argv: string[]): { rest: string[]; flags: FixFlags } {
  try {
    return takeFixFlags(argv);
  } catch (e) {
    if (e instanceof FixConfigError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
}

/** The FIX acceptor's configuration from the manifest and the flags; null: none asked for. */
function fixFromArgs(manifest: Manifest, flags: FixFlags): FixConfig | null {
  try {
    return fixConfig(manifest.fix, flags);
  } catch (e) {
    if (e instanceof FixConfigError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
}

export async function main(argvIn: string[], io: CommandIo = processIo): Promise<number> {
  const { rest: argv, flags: fixFlags } = splitFixFlags(argvIn);
  const args = parseArgs(argv, {
    values: ['data', 'trust', 'listen', 'backend', 'archive', 'audit-key', 'hsm', 'label', 'tls-cert', 'tls-key', 'tls-client-ca',
      'cluster', 'node', 'nats-creds', 'nats-ca'],
    booleans: ['once', 'insecure-unsigned', 'seed'],
    positionals: { min: 1, max: 1, names: ['file.qxi'] },
  });
  if (args.help) { io.out(USAGE); return 0; }
  const dataDir = args.values.get('data');
  const trustPath = args.values.get('trust');
  if (dataDir === undefined) throw new CliError('missing --data <dir>', EXIT_USAGE);
  const insecure = args.booleans.has('insecure-unsigned');
  if (trustPath === undefined && !insecure) throw new CliError('missing --trust <signing.pub>: images are verified before they boot', EXIT_USAGE);
  if (trustPath !== undefined && insecure) throw new CliError('give either --trust or --insecure-unsigned, not both', EXIT_USAGE);
  const listen = args.values.has('listen') ? parseListen(args.values.get('listen')!) : null;
  const tlsListen = tlsFromArgs(args.values);
  // The process's own output is asynchronous and bounded (host/base/lines.ts): a
  // reader that stops reading drops droppable lines, never stalls the machine;
  // ready, stopping, stopped and error lines are never dropped.
  const lines = io === processIo ? stdoutLines() : null;
  const print = (o: object) => { if (lines !== null) lines.line(JSON.stringify(o), true); else io.out(JSON.stringify(o) + '\n'); };
  const cluster = clusterFromArgs(args.values, args.booleans.has('seed'));
  let auditSigner: OpenedSigner | null = null;
  let hsm: HsmDevice | null = null;
  let trust: PublicKey[] | null = null;
  let fix: FixConfig | null = null;
  let options: MachineOptions;
  try {
    const auditArgs = { ...args, values: new Map(args.values) };
    if (args.values.has('audit-key')) auditArgs.values.set('key', args.values.get('audit-key')!);
    // --hsm without --label names the token of the HSM device, not a checkpoint key.
    if (args.values.has('hsm') && !args.values.has('label')) auditArgs.values.delete('hsm');
    auditSigner = await signerFromArgs(auditArgs, io);
    if (auditSigner !== null) setMlDsaSigner(startMlDsaWorker().sign); // checkpoints never stall the run loop
    const bytes = readImageFile(args.positionals[0]);
    let image;
    if (insecure) {
      (io.err ?? processIo.err!)(INSECURE_WARNING + '\n');
      image = parseImage(bytes);
    } else {
      trust = loadPublicKeys(trustPath!);
      image = openImage(bytes, trust);
    }
    fix = fixFromArgs(image.manifest, fixFlags);
    hsm = await openDeviceHsm(image.manifest, args.values.get('hsm'), io);
    options = {
      image, imageBytes: bytes, dataDir, mode: 'live', backend: backendChoice(args.values.get('backend')), archiveDir: args.values.get('archive'),
      auditSigner: auditSigner?.signer ?? null, hsm, trust, // trust: also for live-loaded modules (qenex load)
      onLine: (line, isError) => { if (lines !== null) lines.line(line, isError); else io.out(line + '\n'); },
      notice: (line) => (io.err ?? processIo.err!)(line + '\n'),
    };
  } catch (e) {
    auditSigner?.close();
    hsm?.close();
    throw asCliError(e, [ImageError, KeyError, HsmError, BootError, BlockBackendError, DataKeyError]);
  }
  const serving: Serving = { listen, tlsListen, fix, once: args.booleans.has('once'), print, lines, io };
  if (cluster !== null) {
    if (serving.once) throw new CliError('--once and --cluster do not go together: a cluster node serves until it is stopped', EXIT_USAGE);
    return bootClustered(cluster, options, serving, (o) => bootMachine(o, hsm));
  }
  const machine = await bootMachine(options, hsm);
  const ended = await serve(machine, serving, null);
  return ended.code;
}

async function bootMachine(options: MachineOptions, hsm: HsmDevice | null): Promise<Machine> {
  let machine: Machine;
  try {
    machine = await Machine.boot(options);
  } catch (e) {
    hsm?.close();
    throw asCliError(e, [ImageError, KeyError, HsmError, BootError, BlockBackendError, DataKeyError]);
  }
  if (hsm !== null) {
    const opened = hsm;
    void machine.whenHalted().then(() => opened.close());
  }
  return machine;
}

// The HSM behind the machine's HSM device, when the manifest grants any
// service a key: from --hsm, else the PKCS#11 token in the environment.
async function openDeviceHsm(manifest: Manifest, kindArg: string | undefined, io: CommandIo): Promise<HsmDevice | null> {
  const users = hsmUsers(manifest);
  if (users.length === 0) return null;
  let kind;
  try {
    kind = kindArg === undefined ? 'pkcs11' as const : parseHsmKind(kindArg);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT_USAGE);
  }
  try {
    return await openHsm({ kind, notice: (line) => (io.err ?? processIo.err!)(line + '\n') });
  } catch (e) {
    if (!(e instanceof HsmError)) throw e;
    throw new HsmError(`the manifest grants HSM keys to ${users.join(', ')}, but the HSM does not open: ${e.message}`, e.code);
  }
}
