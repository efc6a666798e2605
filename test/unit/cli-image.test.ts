// test/unit/cli-image.test.ts: the keygen, build, sign and inspect commands,
// run in-process through their main() functions, in temp directories.
//
// Run: node --import tsx test/unit/cli-image.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, parseArgs, type CommandIo } from '../../host/cmd/args.ts';
import { main as keygen } from '../../host/cmd/keygen.ts';
import { main as build } from '../../host/cmd/build.ts';
import { main as sign } from '../../host/cmd/sign.ts';
import { main as inspect } from '../../host/cmd/inspect.ts';
import { openImage, parseImage } from '../../host/image.ts';
import { checkPreparedModule } from '../../host/fuel.ts';
import { createHash } from 'node:crypto';
import { loadPublicKeys } from '../../host/base/keys.ts';

// The demo image: the bank's services plus echo and counter, so builds pack modules of several kinds.
const DEMO_MANIFEST = fileURLToPath(new URL('../../images/demo/manifest.json', import.meta.url));

// ---- hand-made WebAssembly modules ----

const WASM_HEADER = [0, 97, 115, 109, 1, 0, 0, 0];
const EMPTY_MODULE = new Uint8Array(WASM_HEADER);
// One memory of one page, exported as "memory": what `build` needs to prepare a service module.
const ONE_PAGE_MEMORY = [5, 3, 1, 0, 1, 7, 10, 1, 6, ...Buffer.from('memory'), 2, 0];
const SERVICE_MODULE = new Uint8Array([...WASM_HEADER, ...ONE_PAGE_MEMORY]);

/** A module with one function import `module.field` of type () -> (). */
function moduleImporting(module: string, field: string): Uint8Array {
  const types = [1, 4, 1, 0x60, 0, 0];
  const payload = [1, module.length, ...Buffer.from(module), field.length, ...Buffer.from(field), 0x00, 0x00];
  return new Uint8Array([...WASM_HEADER, ...types, 2, payload.length, ...payload]);
}

const ECHO_MODULE = new Uint8Array([...moduleImporting('qenex', 'send'), ...ONE_PAGE_MEMORY]);

// ---- helpers ----

function collector(): CommandIo & { text(): string } {
  const lines: string[] = [];
  return { out: (t) => { lines.push(t); }, text: () => lines.join('\n') };
}

async function fails(run: Promise<number>, exitCode: number, pattern: RegExp | string): Promise<string> {
  try {
    await run;
  } catch (e) {
    assert.instance(e, CliError, `expected CliError, got ${String(e)}`);
    const err = e as CliError;
    assert.is(err.exitCode, exitCode, `exit code for "${err.message}"`);
    assert.match(err.message, pattern);
    assert.not.match(err.message, '\n');
    return err.message;
  }
  throw new assert.Assertion({ message: 'command succeeded, expected a CliError', operator: 'throws', expects: 'an error', actual: 'none' });
}

interface Workspace {
  root: string;
  imageDir: string;
  modules: string;
  keys: string;
  out: string;
}

/** A temp dir with images/demo/manifest.json, build/kernel.wasm and stand-ins for the demo's service modules. */
function workspace(): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'qenex-cli-'));
  const imageDir = join(root, 'images', 'demo');
  const modules = join(root, 'build');
  mkdirSync(imageDir, { recursive: true });
  mkdirSync(join(modules, 'services'), { recursive: true });
  copyFileSync(DEMO_MANIFEST, join(imageDir, 'manifest.json'));
  writeFileSync(join(modules, 'kernel.wasm'), moduleImporting('env', 'abort'));
  writeFileSync(join(modules, 'services', 'echo.wasm'), ECHO_MODULE);
  writeFileSync(join(modules, 'services', 'counter.wasm'), SERVICE_MODULE);
  writeFileSync(join(modules, 'services', 'ledger.wasm'), SERVICE_MODULE);
  writeFileSync(join(modules, 'services', 'gateway.wasm'), SERVICE_MODULE);
  return { root, imageDir, modules, keys: join(root, 'keys'), out: join(root, 'demo.qxi') };
}

async function withWorkspace(fn: (w: Workspace) => Promise<void>): Promise<void> {
  const w = workspace();
  try {
    await fn(w);
  } finally {
    rmSync(w.root, { recursive: true, force: true });
  }
}

async function keygenIn(dir: string): Promise<string> {
  const io = collector();
  assert.is(await keygen(['--out', dir], io), 0);
  return io.text().match(/key ([0-9a-f]{32})/)![1];
}

// ---- args ----

test('parseArgs: values, booleans, aliases, positionals and usage errors', () => {
  // Proves the shared parser's forms and that every misuse is a CliError with exit code 2.
  const spec = { values: ['out', 'key'], booleans: ['force'], aliases: { o: 'out' }, positionals: { min: 1, max: 1, names: ['<dir>'] } };
  const a = parseArgs(['x', '--out', 'o1', '--key=k', '--force'], spec);
  assert.equal([a.positionals, a.values.get('out'), a.values.get('key'), a.booleans.has('force'), a.help], [['x'], 'o1', 'k', true, false]);
  assert.is(parseArgs(['-o', 'f', 'x'], spec).values.get('out'), 'f');
  assert.is(parseArgs(['--', '--odd-name'], spec).positionals[0], '--odd-name');
  assert.ok(parseArgs(['--bogus', '--help'], spec).help);
  const usage = (argv: string[], pattern: string) =>
    assert.throws(() => parseArgs(argv, spec), (e: Error) => e instanceof CliError && e.exitCode === 2 && e.message === pattern);
  usage(['x', '--bogus'], 'unknown option --bogus');
  usage(['x', '-z'], 'unknown option -z');
  usage(['x', '--out'], '--out needs a value');
  usage(['x', '--out', '--force'], '--out needs a value');
  usage(['x', '--out', 'a', '--out', 'b'], '--out given more than once');
  usage(['x', '--force=yes'], '--force takes no value');
  usage([], 'missing <dir>');
  usage(['x', 'y'], 'unexpected argument y');
});

// ---- keygen ----

test('keygen writes a 0600 key and a public key, prints the key id, refuses to overwrite', async () => {
  // Proves keygen's files, modes, output, overwrite protection and --force.
  await withWorkspace(async (w) => {
    const id = await keygenIn(join(w.keys, 'nested'));
    assert.is(statSync(join(w.keys, 'nested', 'signing.key')).mode & 0o777, 0o600);
    assert.is(loadPublicKeys(join(w.keys, 'nested', 'signing.pub'))[0].keyIdHex, id);
    await fails(keygen(['--out', join(w.keys, 'nested')]), 1, /signing\.key already exists; refusing to overwrite/);
    const io = collector();
    assert.is(await keygen(['--out', join(w.keys, 'nested'), '--force'], io), 0);
    assert.is.not(io.text().match(/key ([0-9a-f]{32})/)![1], id);
    assert.is(statSync(join(w.keys, 'nested', 'signing.key')).mode & 0o777, 0o600);
  });
});

test('every command prints usage for --help and rejects bad usage with exit 2', async () => {
  // Proves --help returns 0 with usage on stdout, and usage errors are exit code 2.
  for (const [name, cmd] of [['keygen', keygen], ['build', build], ['sign', sign], ['inspect', inspect]] as const) {
    const io = collector();
    assert.is(await cmd(['--help'], io), 0);
    assert.match(io.text(), `usage: qenex ${name}`);
    await fails(cmd(['--nope']), 2, 'unknown option --nope');
  }
  await fails(keygen([]), 2, 'missing --out <dir>');
  await fails(build(['images/bank']), 2, 'missing -o <file.qxi>');
  await fails(build([]), 2, 'missing <image-dir>');
  await fails(sign(['x.qxi']), 2, 'missing --key <signing.key>');
  await fails(inspect([]), 2, 'missing <file.qxi>');
});

// ---- build ----

test('build packs an unsigned image that parses back to the manifest and modules', async () => {
  // Proves build reads manifest + modules from the given dirs and writes a
  // valid image, its service modules prepared (fuel counter, memory limit)
  // from exactly those files (test/unit/prepared-image.test.ts has the rest).
  await withWorkspace(async (w) => {
    const io = collector();
    assert.is(await build([w.imageDir, '-o', w.out, '--modules', w.modules], io), 0);
    assert.match(io.text(), /^built .*demo\.qxi: demo v1, \d+ service\(s\), \d+ bytes, digest [0-9a-f]{64}, services prepared by qenex-fuel\/1 binaryen\/\S+, unsigned$/);
    const parsed = parseImage(new Uint8Array(readFileSync(w.out)));
    assert.is(parsed.manifest.name, 'demo');
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const sources = new Map(parsed.prepared!.services.map((e) => [e.name, e.source_sha256]));
    assert.is(sources.get('counter'), sha(SERVICE_MODULE));
    assert.is(sources.get('echo'), sha(ECHO_MODULE));
    for (const spec of parsed.manifest.services) {
      const bytes = parsed.services.get(spec.name)!;
      assert.equal(checkPreparedModule(bytes, spec.memory_pages_max), bytes, `${spec.name} is packed prepared`);
    }
    assert.equal(parsed.signatures, []);
    assert.equal(readdirSync(w.root).filter((f) => f.includes('.tmp-')), [], 'no temp file is left behind');
  });
});

test('build --key signs the image with that key', async () => {
  // Proves a signed build verifies with the matching public key.
  await withWorkspace(async (w) => {
    const id = await keygenIn(w.keys);
    const io = collector();
    assert.is(await build([w.imageDir, '-o', w.out, '--modules', w.modules, '--key', join(w.keys, 'signing.key')], io), 0);
    const pq = loadPublicKeys(join(w.keys, 'signing.pub'))[1].keyIdHex;
    assert.match(io.text(), `signed by ecdsa-p384 key ${id}, ml-dsa-65 key ${pq}`);
    const parsed = openImage(new Uint8Array(readFileSync(w.out)), loadPublicKeys(join(w.keys, 'signing.pub')));
    assert.equal(parsed.signatures.map((s) => [s.keyIdHex, s.valid]), [[id, true], [pq, true]]);
  });
});

test('build uses build/ under the current directory by default', async () => {
  // Proves the default modules directory is build/, relative to cwd.
  await withWorkspace(async (w) => {
    const cwd = process.cwd();
    process.chdir(w.root);
    try {
      assert.is(await build(['images/demo', '-o', 'out.qxi'], collector()), 0);
    } finally {
      process.chdir(cwd);
    }
    assert.ok(existsSync(join(w.root, 'out.qxi')));
  });
});

test('build refuses missing, invalid or wrongly importing modules, naming service and path', async () => {
  // Proves each module problem is a one-line failure (exit 1) naming what and where.
  await withWorkspace(async (w) => {
    const run = () => build([w.imageDir, '-o', w.out, '--modules', w.modules]);
    const counter = join(w.modules, 'services', 'counter.wasm');
    rmSync(counter);
    await fails(run(), 1, `service 'counter': module file ${counter} not found`);
    writeFileSync(counter, new Uint8Array([0, 97, 115, 109, 2, 0, 0, 0]));
    await fails(run(), 1, `service 'counter': ${counter} is not a valid WebAssembly module`);
    writeFileSync(counter, moduleImporting('env', 'abort'));
    await fails(run(), 1, `service 'counter': ${counter} imports "env"."abort" (function); services may import only from module "qenex"`);
    writeFileSync(counter, EMPTY_MODULE);
    await fails(run(), 1, `service counter: the module defines no memory (a service exports its own memory)`);
    writeFileSync(counter, SERVICE_MODULE);
    rmSync(join(w.modules, 'kernel.wasm'));
    await fails(run(), 1, `kernel: module file ${join(w.modules, 'kernel.wasm')} not found`);
    assert.not.ok(existsSync(w.out), 'nothing is written when the build fails');
  });
});

test('build refuses an invalid manifest, naming the file and the JSON path', async () => {
  // Proves manifest errors reach the user with the file and the offending path.
  await withWorkspace(async (w) => {
    const path = join(w.imageDir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    m.services[1].caps[2] = 'sned:echo';
    writeFileSync(path, JSON.stringify(m));
    await fails(build([w.imageDir, '-o', w.out, '--modules', w.modules]), 1,
      `${path}: manifest: services[1].caps[2]: unknown capability "sned:echo"`);
    await fails(build([join(w.root, 'nowhere'), '-o', w.out]), 1, /nowhere.manifest\.json: cannot read manifest/);
  });
});

test('build refuses an unusable key before writing anything', async () => {
  // Proves a wrong --key is a clear failure naming the key file.
  await withWorkspace(async (w) => {
    await keygenIn(w.keys);
    const pub = join(w.keys, 'signing.pub');
    await fails(build([w.imageDir, '-o', w.out, '--modules', w.modules, '--key', pub]), 1, `${pub}: signing key is accessible by others`);
    await fails(build([w.imageDir, '-o', w.out, '--modules', w.modules, '--key', join(w.keys, 'x.key')]), 1, /x\.key: cannot read signing key/);
    assert.not.ok(existsSync(w.out));
  });
});

// ---- sign ----

test('sign adds a signature in place; re-signing replaces it; a second key adds one', async () => {
  // Proves sign's in-place update and its replace-by-key rule.
  await withWorkspace(async (w) => {
    const idA = await keygenIn(join(w.keys, 'a'));
    const idB = await keygenIn(join(w.keys, 'b'));
    await build([w.imageDir, '-o', w.out, '--modules', w.modules], collector());
    const io = collector();
    assert.is(await sign([w.out, '--key', join(w.keys, 'a', 'signing.key')], io), 0);
    assert.match(io.text(), `with key ${idA}; 2 signature(s)`);
    await sign([w.out, '--key', join(w.keys, 'a', 'signing.key')], collector());
    await sign([w.out, '--key', join(w.keys, 'b', 'signing.key')], collector());
    const parsed = openImage(new Uint8Array(readFileSync(w.out)), loadPublicKeys(join(w.keys, 'b', 'signing.pub')));
    const pqA = loadPublicKeys(join(w.keys, 'a', 'signing.pub'))[1].keyIdHex;
    const pqB = loadPublicKeys(join(w.keys, 'b', 'signing.pub'))[1].keyIdHex;
    assert.equal(parsed.signatures.map((s) => s.keyIdHex), [idA, pqA, idB, pqB]);
  });
});

test('sign refuses a damaged image and leaves it untouched', async () => {
  // Proves sign checks digests first, so it never signs a tampered image.
  await withWorkspace(async (w) => {
    await keygenIn(w.keys);
    await build([w.imageDir, '-o', w.out, '--modules', w.modules], collector());
    const bytes = readFileSync(w.out);
    const last = parseImage(new Uint8Array(bytes)).sections.at(-1)!.name;
    bytes[bytes.length - 9] ^= 1; // last byte of the last service, just before the signature block
    writeFileSync(w.out, bytes);
    await fails(sign([w.out, '--key', join(w.keys, 'signing.key')]), 1, `section '${last}' digest mismatch`);
    assert.equal(readFileSync(w.out), bytes);
    await fails(sign([join(w.root, 'none.qxi'), '--key', join(w.keys, 'signing.key')]), 1, /none\.qxi: cannot read image/);
  });
});

// ---- inspect ----

test('inspect prints manifest, sections and signers; --json is one object', async () => {
  // Proves both output forms carry the sections, digests and signer key ids.
  await withWorkspace(async (w) => {
    const id = await keygenIn(w.keys);
    await build([w.imageDir, '-o', w.out, '--modules', w.modules, '--key', join(w.keys, 'signing.key')], collector());
    const text = collector();
    assert.is(await inspect([w.out], text), 0);
    const pq = loadPublicKeys(join(w.keys, 'signing.pub'))[1].keyIdHex;
    const count = JSON.parse(readFileSync(join(w.imageDir, 'manifest.json'), 'utf8')).services.length;
    for (const part of [`manifest   demo v1, ${count} service(s)`, 'service:ledger', 'service:echo', 'service:counter',
      `ecdsa-p384 key ${id}  not checked`, `ml-dsa-65  key ${pq}  not checked`]) {
      assert.match(text.text(), part);
    }
    const json = collector();
    assert.is(await inspect([w.out, '--json'], json), 0);
    const o = JSON.parse(json.text());
    assert.is(o.manifest.name, 'demo');
    assert.equal(o.sections.map((s: { name: string }) => s.name).slice(0, 5), ['manifest', 'kernel', 'service:ledger', 'service:echo', 'service:counter']);
    assert.equal(o.signatures, [{ algorithm: 'ecdsa-p384', keyId: id, valid: null }, { algorithm: 'ml-dsa-65', keyId: pq, valid: null }]);
    assert.is(o.verification, null);
  });
});

test('inspect --trust says whether the image verifies and sets the exit code', async () => {
  // Proves --trust reports verification and returns 1 when no trusted signature verifies.
  await withWorkspace(async (w) => {
    const id = await keygenIn(join(w.keys, 'a'));
    await keygenIn(join(w.keys, 'b'));
    await build([w.imageDir, '-o', w.out, '--modules', w.modules, '--key', join(w.keys, 'a', 'signing.key')], collector());
    const good = collector();
    assert.is(await inspect([w.out, '--trust', join(w.keys, 'a', 'signing.pub')], good), 0);
    assert.match(good.text(), `verified   yes, by trusted keys ${id} + `);
    const bad = collector();
    assert.is(await inspect([w.out, '--json', '--trust', join(w.keys, 'b', 'signing.pub')], bad), 1);
    const o = JSON.parse(bad.text());
    assert.is(o.verification.verified, false);
    assert.match(o.verification.error, `no signature from a trusted key (signed by ${id}`);
    await fails(inspect([w.out, '--trust', join(w.keys, 'a', 'signing.key')]), 1, 'not an SPKI PEM public key');
  });
});

test('inspect refuses a truncated image with the parser message', async () => {
  // Proves inspect shows the same error the loader would give.
  await withWorkspace(async (w) => {
    await build([w.imageDir, '-o', w.out, '--modules', w.modules], collector());
    const bytes = readFileSync(w.out);
    writeFileSync(w.out, bytes.subarray(0, 100));
    await fails(inspect([w.out]), 1, /^image truncated: /);
  });
});

test.run();
