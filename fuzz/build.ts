// fuzz/build.ts: the instrumented build `make fuzz` runs.
//   - build/fuzz/worker.mjs: fuzz/worker.ts bundled by esbuild, with every
//     TypeScript source a target names rewritten by fuzz/instrument.ts (the
//     rest, and node_modules, as they are);
//   - build/fuzz/<target>.wasm: each AssemblyScript target's entry compiled
//     with the Makefile's flags, its sources instrumented on the way into
//     the compiler (fuzz/assembly/cov.ts supplies __cov);
//   - build/fuzz/build.json: per target the sites it has and a digest of
//     what was fuzzed (its instrumented sources, its oracle and its wasm),
//     which keys the execution count `make fuzz` resumes from.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { firstSite, instrumentSource } from './instrument.ts';
import { TARGETS } from './targets/index.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = join(ROOT, 'build', 'fuzz');
const RELEASE = ['--config', 'asconfig.json', '--target', 'release'];

export interface BuildInfo {
  /** Per target: the digest of what was fuzzed, and the ids of its own sites (its sources'). */
  targets: Record<string, { digest: string; sites: number; siteIds: number[] }>;
}

function rel(path: string): string {
  return relative(ROOT, path).split('\\').join('/');
}

export async function buildFuzz(log: (line: string) => void = () => {}): Promise<BuildInfo> {
  mkdirSync(OUT, { recursive: true });
  const siteIds = new Map<string, number[]>(); // repo-relative file -> its site ids
  const done = new Map<string, { text: string; sites: number[] }>(); // a file two modules import keeps its ids
  const instrument = (source: string, file: string, kind: 'ts' | 'as') => {
    const had = done.get(`${kind}:${file}`);
    if (had !== undefined) return had;
    const r = instrumentSource(source, file, kind, firstSite(file));
    siteIds.set(file, r.sites);
    done.set(`${kind}:${file}`, r);
    return r;
  };
  const texts = new Map<string, string>(); // repo-relative file -> instrumented text

  // TypeScript: one bundle, every named source instrumented.
  const tsSources = new Set(TARGETS.filter((t) => t.wasm === undefined).flatMap((t) => t.sources));
  const covModule = join(ROOT, 'fuzz', 'cov.ts');
  const plugin: esbuild.Plugin = {
    name: 'qenex-coverage',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const file = rel(args.path);
        if (!tsSources.has(file)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        const r = instrument(source, file, 'ts');
        const text = `import { __cov } from ${JSON.stringify(covModule)};\n${r.text}`;
        texts.set(file, text);
        return { contents: text, loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };
  await esbuild.build({
    entryPoints: [join(ROOT, 'fuzz', 'worker.ts')],
    outfile: join(OUT, 'worker.mjs'),
    bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external',
    define: { 'process.env.QENEX_FUZZ_BUILD': '"1"' },
    plugins: [plugin], logLevel: 'error', sourcemap: 'inline',
    banner: { js: "import { createRequire as __qxRequire } from 'node:module'; const require = __qxRequire(import.meta.url);" },
  });
  for (const f of tsSources) if (!siteIds.has(f)) throw new Error(`fuzz build: ${f} is named by a target but the bundle never loads it`);
  log(`fuzz build: worker.mjs (${tsSources.size} instrumented TypeScript files)`);

  // AssemblyScript: one module per target.
  const wasmBytes = new Map<string, Uint8Array>();
  for (const t of TARGETS) {
    if (t.wasm === undefined) continue;
    const out = join(OUT, `${t.name}.wasm`);
    const entry = join(ROOT, t.wasm.entry);
    const own = new Set(t.sources);
    const covPath = join(ROOT, 'fuzz', 'assembly', 'cov');
    const { default: asc } = await import('assemblyscript/asc');
    const stderr: string[] = [];
    const result = await asc.main([t.wasm.entry, ...RELEASE, ...(t.wasm.args ?? []), '-o', out], {
      readFile(filename: string, baseDir: string) {
        const path = resolve(baseDir, filename);
        if (!existsSync(path)) return null;
        const source = readFileSync(path, 'utf8');
        const file = rel(path);
        let text = source;
        if (own.has(file)) {
          const r = instrument(source, file, 'as');
          let spec = relative(dirname(path), covPath).split('\\').join('/');
          if (!spec.startsWith('.')) spec = `./${spec}`;
          text = `import { __cov } from ${JSON.stringify(spec)};\n${r.text}`;
          texts.set(file, text);
        }
        if (path === entry) {
          let spec = relative(dirname(path), covPath).split('\\').join('/');
          if (!spec.startsWith('.')) spec = `./${spec}`;
          text += `\nexport { __cov_edges, __cov_touched, __cov_sites, __cov_touched_count, __cov_reset } from ${JSON.stringify(spec)};\n`;
        }
        return text;
      },
      stdout: { write: () => true } as never,
      stderr: { write: (s: string) => { stderr.push(String(s)); return true; } } as never,
    }, );
    if (result.error !== null) throw new Error(`fuzz build: ${t.name}: ${result.error.message}\n${stderr.join('')}`);
    for (const f of t.sources) if (!siteIds.has(f)) throw new Error(`fuzz build: ${t.name}: ${f} is named but ${t.wasm.entry} never imports it`);
    // Its mutable globals exported (as services' are), so a target can restore an instance instead of making one per input.
    const { default: binaryen } = await import('binaryen');
    const { instrument: exportGlobals } = await import('../host/fuel-instrument.mjs') as { instrument: (b: unknown, bytes: Uint8Array, fuel: boolean) => Uint8Array };
    writeFileSync(out, exportGlobals(binaryen, readFileSync(out), false));
    wasmBytes.set(t.name, readFileSync(out));
    log(`fuzz build: ${t.name}.wasm (${t.sources.length} instrumented AssemblyScript files)`);
  }

  // What was fuzzed: the target's sources as instrumented, its oracle
  // (fuzz/targets/<name>.ts) and its module. The engine is not in it: a
  // better mutator does not make earlier executions count for less.
  const info: BuildInfo = { targets: {} };
  for (const t of TARGETS) {
    const h = createHash('sha256');
    for (const f of [...t.sources].sort()) h.update(f).update(texts.get(f) ?? '');
    h.update(readFileSync(join(ROOT, 'fuzz', 'targets', `${t.name}.ts`)));
    const w = wasmBytes.get(t.name);
    if (w !== undefined) h.update(w);
    const sites = [...new Set(t.sources.flatMap((f) => siteIds.get(f) ?? []))].sort((a, b) => a - b);
    info.targets[t.name] = { digest: h.digest('hex').slice(0, 32), sites: sites.length, siteIds: sites };
  }
  writeFileSync(join(OUT, 'build.json'), JSON.stringify(info) + '\n');
  return info;
}
