// host/cmd/audit.ts: `qenex audit`, the tamper-evident command log.
//
//   verify       --data <dir> [--trust <signing.pub>] [--json]
//       checks every entry (CRC, sequence, hash chain, time, genesis) and
//       every checkpoint (its tree size, time and Merkle root against the
//       log; with --trust its ECDSA P-384 and ML-DSA-65 signatures); names
//       the first bad entry or checkpoint; exit 1 when anything is wrong.
//   prove        --data <dir> --entry N [--size S]
//       an inclusion proof (JSON) of entry N against the latest checkpoint
//       that covers it (or the checkpoint of tree size S).
//   consistency  --data <dir> --from A --to B
//       a consistency proof (JSON) between the trees of A and B entries,
//       with the checkpoints that sign those roots.
//   check-proof  <proof.json | -> --trust <signing.pub>
//       verifies a proof with only the public keys: the Merkle math
//       (RFC 9162) and the checkpoint signatures.
// Proofs carry base64 hashes, the signed checkpoint bodies and signatures.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT_USAGE, asCliError, parseArgs, processIo, type CommandIo } from './args.ts';
import { KeyError, loadPublicKeys, type PublicKey } from '../base/keys.ts';
import { ImageError, parseImage, readImageFile } from '../image.ts';
import { IMAGE_FILE, LOG_FILE } from '../machine.ts';
import { DataKeyError, openDataCipher, readDataKeyFile } from '../datakey.ts';
import { SECTOR_BYTES } from '../devices/encrypted-backend.ts';
import { firstLiveSegment, openSegmentedLog } from '../devices/segmented-log.ts';
import { ENTRY_CHECKPOINT } from '../../hal/log.ts';
import { ENTRY_TYPE_NAMES, readAuditLog, type AuditEntry, type LogReadout } from '../audit/log.ts';
import {
  CheckpointError, checkpointFromJson, checkpointJson, checkpointSignatureProblem, decodeCheckpoint, type Checkpoint,
} from '../audit/checkpoint.ts';
import {
  consistencyProof, inclusionProof, leafHash, nodeHash as nodeHashOf, verifyConsistency, verifyInclusion,
} from '../audit/merkle.ts';

export const USAGE = `usage: qenex audit verify --data <dir> [--trust <signing.pub>] [--json] [--archive <dir>]
       qenex audit prove --data <dir> --entry <N> [--size <S>] [--archive <dir>]
       qenex audit consistency --data <dir> --from <A> --to <B> [--archive <dir>]
       qenex audit check-proof <proof.json | -> --trust <signing.pub>

The command log is an RFC 6962 Merkle tree (entry N is leaf N) and a hash
chain; the kernel seals signed checkpoints (tree size, root, logical time)
at the manifest's audit.checkpoint_interval.

  verify       check every entry and checkpoint; name the first bad one
               (--trust also checks the checkpoints' ECDSA P-384 and
               ML-DSA-65 signatures); exit 1 if anything is wrong
  prove        print an inclusion proof (JSON) for entry N against the
               latest checkpoint covering it, or the one of tree size S
  consistency  print a consistency proof (JSON) from tree size A to B
  check-proof  verify such a proof with only the public keys

Log segments moved out by \`qenex log archive\` are read from --archive
(default <data>/archive).`;

const PROOF_INCLUSION = 'qenex-audit-inclusion-v1';
const PROOF_CONSISTENCY = 'qenex-audit-consistency-v1';

interface CheckpointAt {
  entry: AuditEntry;
  checkpoint: Checkpoint | null;
  error: string | null;
}

function imageDigest(dataDir: string): Uint8Array | undefined {
  const path = join(dataDir, IMAGE_FILE);
  if (!existsSync(path)) return undefined;
  return Buffer.from(parseImage(readImageFile(path)).digestHex, 'hex');
}

// The log is read through its segments (host/devices/segmented-log.ts), the
// archived ones from `archiveDir`. An encrypted data directory (datakey.json)
// is read through the HSM (QENEX_PKCS11_*) and the encrypted backend; sectors
// that fail authentication are problems of their own.
async function readLog(dataDir: string, archiveDir?: string): Promise<LogReadout & { sealedDamage: string[] }> {
  const digest = imageDigest(dataDir);
  const keyFile = readDataKeyFile(dataDir);
  const storage = keyFile === null ? undefined : { encryption: 'aes-256-gcm' as const, key_label: keyFile.key_label };
  const cipher = await openDataCipher({ dataDir, storage, logFile: firstLiveSegment(dataDir), create: false });
  const path = join(dataDir, LOG_FILE);
  try {
    const file = openSegmentedLog(dataDir, { create: false, lock: false, readOnly: true, layer: cipher ?? undefined, archiveDir, notice: () => {} });
    try {
      const bytes = new Uint8Array(file.size());
      file.readAt(0, bytes);
      const sealedDamage = cipher === null ? [] : file.scrub().map((d) => `encrypted sector ${d.sector} (log bytes ${d.offsetBytes}..${d.offsetBytes + SECTOR_BYTES}) ` +
        (d.readAs === 'stale' ? 'holds an older record that fails authentication (edited or damaged)'
          : `failed authentication; read as ${d.readAs === 'zeros' ? 'zeros' : 'its previous version'}`));
      return { ...readAuditLog(path, digest, bytes), sealedDamage };
    } finally {
      file.close();
    }
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new CliError(`${path}: cannot read the command log: ${(e as Error).message}`);
  }
}

function checkpointsOf(log: LogReadout): CheckpointAt[] {
  return log.entries.filter((e) => e.type === ENTRY_CHECKPOINT).map((entry) => {
    try {
      return { entry, checkpoint: decodeCheckpoint(entry.payload), error: null };
    } catch (e) {
      return { entry, checkpoint: null, error: (e as Error).message };
    }
  });
}

/** Roots of the tree at each wanted size, from one pass over the leaves with a frontier. */
function rootsAt(leaves: readonly Uint8Array[], sizes: Iterable<number>): Map<number, Uint8Array> {
  const wanted = new Set([...sizes].filter((s) => s >= 1 && s <= leaves.length));
  const out = new Map<number, Uint8Array>();
  const frontier: Uint8Array[] = [];
  for (let n = 0; n < leaves.length && wanted.size > out.size; n++) {
    let carry = leaves[n];
    let size = n;
    let level = 0;
    while (size & 1) {
      carry = nodeHashOf(frontier[level], carry);
      size = Math.floor(size / 2);
      level++;
    }
    frontier[level] = carry;
    const count = n + 1;
    if (wanted.has(count)) {
      let root: Uint8Array | null = null;
      for (let l = 0, s = count; s > 0; l++, s = Math.floor(s / 2)) {
        if (s & 1) root = root === null ? frontier[l] : nodeHashOf(frontier[l], root);
      }
      out.set(count, root!);
    }
  }
  return out;
}


function checkCheckpoints(log: LogReadout, trusted: readonly PublicKey[] | null): { problems: string[]; count: number; latest: number } {
  const cps = checkpointsOf(log);
  const roots = rootsAt(log.entries.map((e) => e.leaf), cps.filter((c) => c.checkpoint !== null).map((c) => c.checkpoint!.treeSize));
  const problems: string[] = [];
  let latest = 0;
  for (const c of cps) {
    const where = `checkpoint at entry ${c.entry.seq} (offset ${c.entry.offset})`;
    if (c.checkpoint === null) { problems.push(`${where}: ${c.error}`); continue; }
    const cp = c.checkpoint;
    if (cp.treeSize < 1 || cp.treeSize > c.entry.seq) { problems.push(`${where}: tree size ${cp.treeSize} is not a log prefix before it`); continue; }
    if (!Buffer.from(roots.get(cp.treeSize)!).equals(Buffer.from(cp.root))) { problems.push(`${where}: root does not match the log's first ${cp.treeSize} entries`); continue; }
    if (log.entries[cp.treeSize - 1].timeNs !== cp.timeNs) { problems.push(`${where}: time ${cp.timeNs} is not the time of entry ${cp.treeSize - 1}`); continue; }
    if (trusted !== null) {
      const bad = checkpointSignatureProblem(cp, trusted);
      if (bad !== null) { problems.push(`${where}: ${bad}`); continue; }
    }
    latest = Math.max(latest, cp.treeSize);
  }
  return { problems, count: cps.length, latest };
}

function integerArg(args: { values: Map<string, string> }, name: string, required: boolean): number | undefined {
  const v = args.values.get(name);
  if (v === undefined) {
    if (required) throw new CliError(`missing --${name} <N>`, EXIT_USAGE);
    return undefined;
  }
  if (!/^\d{1,15}$/.test(v)) throw new CliError(`--${name} wants a non-negative integer, got "${v}"`, EXIT_USAGE);
  return Number(v);
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new CliError(`proof: ${what} is not base64`);
  return new Uint8Array(Buffer.from(s, 'base64'));
};

async function verify(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'trust', 'archive'], booleans: ['json'], positionals: { min: 0, max: 0 } });
  const dataDir = args.values.get('data');
  if (dataDir === undefined) throw new CliError('missing --data <dir>', EXIT_USAGE);
  const trusted = args.values.has('trust') ? loadPublicKeys(args.values.get('trust')!) : null;
  const log = await readLog(dataDir, args.values.get('archive'));
  const cps = checkCheckpoints(log, trusted);
  const problems: string[] = [];
  if (log.problem !== null) {
    problems.push(`entry ${log.problem.seq} at offset ${log.problem.offset}: ${log.problem.reason}`);
  }
  problems.push(...log.sealedDamage);
  problems.push(...cps.problems);
  const report = {
    log: log.path,
    entries: log.entries.length,
    checkpoints: cps.count,
    latest_checkpoint_size: cps.latest,
    signatures_checked: trusted !== null,
    ok: problems.length === 0,
    first_problem: problems[0] ?? null,
    problems,
  };
  if (args.booleans.has('json')) {
    io.out(JSON.stringify(report));
  } else {
    io.out(`log        ${log.path}: ${log.entries.length} entries, chain ${log.problem === null ? 'intact' : 'BROKEN'}`);
    io.out(`checkpoints ${cps.count}, latest covers ${cps.latest} entries${trusted === null ? ' (signatures not checked: no --trust)' : ', signatures checked'}`);
    for (const p of problems) io.out(`BAD        ${p}`);
    io.out(problems.length === 0 ? 'verified   yes' : `verified   NO: ${problems[0]}`);
  }
  return problems.length === 0 ? 0 : 1;
}

async function usableLog(dataDir: string, archiveDir?: string): Promise<LogReadout> {
  const log = await readLog(dataDir, archiveDir);
  if (log.problem !== null) {
    throw new CliError(`the log does not verify (entry ${log.problem.seq} at offset ${log.problem.offset}: ${log.problem.reason}); run qenex audit verify`);
  }
  return log;
}

function validCheckpoints(log: LogReadout): Checkpoint[] {
  const cps = checkpointsOf(log).filter((c) => c.checkpoint !== null).map((c) => c.checkpoint!);
  const roots = rootsAt(log.entries.map((e) => e.leaf), cps.map((c) => c.treeSize));
  return cps.filter((c) => roots.has(c.treeSize) && Buffer.from(roots.get(c.treeSize)!).equals(Buffer.from(c.root)));
}

async function prove(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'entry', 'size', 'archive'], positionals: { min: 0, max: 0 } });
  const dataDir = args.values.get('data');
  if (dataDir === undefined) throw new CliError('missing --data <dir>', EXIT_USAGE);
  const entry = integerArg(args, 'entry', true)!;
  const size = integerArg(args, 'size', false);
  const log = await usableLog(dataDir, args.values.get('archive'));
  if (entry >= log.entries.length) throw new CliError(`entry ${entry} is not in the log (${log.entries.length} entries)`);
  const cps = validCheckpoints(log);
  const covering = cps.filter((c) => c.treeSize > entry && (size === undefined || c.treeSize === size));
  if (covering.length === 0) {
    const sizes = cps.map((c) => c.treeSize).join(', ') || 'none';
    throw new CliError(size === undefined
      ? `no checkpoint covers entry ${entry} yet (checkpoint sizes: ${sizes}); wait for the next one`
      : `no checkpoint of tree size ${size} covers entry ${entry} (checkpoint sizes: ${sizes})`);
  }
  const cp = covering.reduce((a, b) => (b.treeSize > a.treeSize ? b : a));
  const leaves = log.entries.map((e) => e.leaf);
  const e = log.entries[entry];
  io.out(JSON.stringify({
    type: PROOF_INCLUSION,
    entry,
    entry_type: ENTRY_TYPE_NAMES[e.type],
    leaf_data: b64(e.leafData),
    leaf_hash: b64(e.leaf),
    tree_size: cp.treeSize,
    proof: inclusionProof(leaves, entry, cp.treeSize).map(b64),
    checkpoint: checkpointJson(cp),
  }, null, 1));
  return 0;
}

async function consistency(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'from', 'to', 'archive'], positionals: { min: 0, max: 0 } });
  const dataDir = args.values.get('data');
  if (dataDir === undefined) throw new CliError('missing --data <dir>', EXIT_USAGE);
  const from = integerArg(args, 'from', true)!;
  const to = integerArg(args, 'to', true)!;
  const log = await usableLog(dataDir, args.values.get('archive'));
  if (from < 1 || from > to || to > log.entries.length) {
    throw new CliError(`--from and --to must satisfy 1 <= from <= to <= ${log.entries.length} (the log's entries), got ${from} and ${to}`);
  }
  const cps = validCheckpoints(log);
  const leaves = log.entries.map((e) => e.leaf);
  const roots = rootsAt(leaves, [from, to]);
  const signed = (n: number) => {
    const cp = cps.find((c) => c.treeSize === n);
    return cp === undefined ? null : checkpointJson(cp);
  };
  io.out(JSON.stringify({
    type: PROOF_CONSISTENCY,
    size1: from,
    size2: to,
    root1: b64(roots.get(from)!),
    root2: b64(roots.get(to)!),
    proof: consistencyProof(leaves, from, to).map(b64),
    checkpoint1: signed(from),
    checkpoint2: signed(to),
  }, null, 1));
  return 0;
}

async function checkProof(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: ['trust'], booleans: ['allow-unsigned'], positionals: { min: 1, max: 1, names: ['<proof.json>'] } });
  const trustPath = args.values.get('trust');
  if (trustPath === undefined) throw new CliError('missing --trust <signing.pub>: a proof is only as good as the key that signed its root', EXIT_USAGE);
  const trusted = loadPublicKeys(trustPath);
  const file = args.positionals[0];
  let proof: Record<string, unknown>;
  try {
    proof = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (e) {
    throw new CliError(`${file}: not a JSON proof: ${(e as Error).message}`);
  }
  const signedRoot = (cpJson: unknown, size: number, root: Uint8Array, which: string): string | null => {
    if (cpJson === null || cpJson === undefined) {
      return args.booleans.has('allow-unsigned') ? null : `${which}: no signed checkpoint for tree size ${size} (use --allow-unsigned to check the Merkle math alone)`;
    }
    const cp = checkpointFromJson(cpJson, which);
    if (cp.treeSize !== size) return `${which}: signs tree size ${cp.treeSize}, the proof is for ${size}`;
    if (!Buffer.from(cp.root).equals(Buffer.from(root))) return `${which}: signs another root`;
    const bad = checkpointSignatureProblem(cp, trusted);
    return bad === null ? null : `${which}: ${bad}`;
  };
  let problem: string | null;
  if (proof.type === PROOF_INCLUSION) {
    const data = unb64(proof.leaf_data, 'leaf_data');
    const leaf = unb64(proof.leaf_hash, 'leaf_hash');
    const cp = checkpointFromJson(proof.checkpoint, 'checkpoint');
    problem = !Buffer.from(leafHash(data)).equals(Buffer.from(leaf)) ? 'leaf_hash is not the hash of leaf_data'
      : verifyInclusion(Number(proof.entry), Number(proof.tree_size), leaf, asList(proof.proof).map((h, i) => unb64(h, `proof[${i}]`)), cp.root);
    if (problem === null) problem = signedRoot(proof.checkpoint, Number(proof.tree_size), cp.root, 'checkpoint');
    if (problem === null) io.out(`ok: entry ${String(proof.entry)} is in the log of ${String(proof.tree_size)} entries signed by ${trusted.map((k) => k.keyIdHex).join(' + ')}`);
  } else if (proof.type === PROOF_CONSISTENCY) {
    const root1 = unb64(proof.root1, 'root1');
    const root2 = unb64(proof.root2, 'root2');
    const size1 = Number(proof.size1);
    const size2 = Number(proof.size2);
    problem = verifyConsistency(size1, size2, root1, root2, asList(proof.proof).map((h, i) => unb64(h, `proof[${i}]`)));
    if (problem === null) problem = signedRoot(proof.checkpoint1, size1, root1, 'checkpoint1');
    if (problem === null) problem = signedRoot(proof.checkpoint2, size2, root2, 'checkpoint2');
    if (problem === null) io.out(`ok: the log of ${size2} entries extends the log of ${size1} entries`);
  } else {
    throw new CliError(`${file}: unknown proof type ${JSON.stringify(proof.type)} (expected ${PROOF_INCLUSION} or ${PROOF_CONSISTENCY})`);
  }
  if (problem !== null) throw new CliError(`proof does not verify: ${problem}`);
  return 0;
}

function asList(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new CliError('proof: "proof" must be a list of base64 hashes');
  return v;
}

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.out(USAGE);
    return sub === undefined ? EXIT_USAGE : 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  try {
    switch (sub) {
      case 'verify': return await verify(rest, io);
      case 'prove': return await prove(rest, io);
      case 'consistency': return await consistency(rest, io);
      case 'check-proof': return await checkProof(rest, io);
      default: throw new CliError(`unknown audit command "${sub}" (verify, prove, consistency, check-proof)`, EXIT_USAGE);
    }
  } catch (e) {
    throw asCliError(e, [KeyError, ImageError, CheckpointError, DataKeyError]);
  }
}
