// test/unit/tidy.test.ts: the few rules of the house that a program can
// check, over every tracked source file (TypeScript and AssemblyScript).
// Proves, for the tree as it is:
//   - lines are at most LINE_MAX characters;
//   - functions of the kernel side (kernel/, drivers/, lib/, services/) are
//     at most FUNCTION_LINES_MAX lines;
//   - no wall clock, randomness or floating point where determinism and
//     exact money are the point (the kernel side; the host has its devices);
//   - a contract is written once: a constant whose home is hal/ or a
//     service's protocol.ts is not defined again with a literal value
//     anywhere else, and the command log's magic appears in its home only;
//   - bounds live in their files: an exported *_MAX / *_MIN number of the
//     host is in host/base/limits.ts (or hal/limits.ts), of the kernel in
//     kernel/base/constants.ts;
//   - no import cycles between files, nor between the folders of the kernel
//     side or of the host (type-only imports are erased and do not count);
//   - the kernel side asserts at least once per function on average.
// Exceptions are listed in test/unit/tidy-exceptions.json, each with its
// reason; the list may only shrink: an exception that no longer applies
// fails the test until it is removed, so it cannot be reused silently.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ts from 'typescript';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { ROOT } from '../support/helpers.ts';

const LINE_MAX = 200;
const FUNCTION_LINES_MAX = 70;
const ASSERTS_PER_FUNCTION_MIN = 1;

interface Exceptions {
  reasons: Record<string, string>;
  line_length: Record<string, number>;
  function_length: Record<string, number>;
  banned: Record<string, number>;
  limits: string[];
}
const EXCEPTIONS_FILE = join(ROOT, 'test/unit/tidy-exceptions.json');
const exceptions = JSON.parse(readFileSync(EXCEPTIONS_FILE, 'utf8')) as Exceptions;

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n').filter((f) => f !== '' && !f.startsWith('fuzz/corpus/') && !f.endsWith('.d.ts'));
const text = new Map(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));
const parsed = new Map<string, ts.SourceFile>();
function sourceOf(f: string): ts.SourceFile {
  let sf = parsed.get(f);
  if (sf === undefined) { sf = ts.createSourceFile(f, text.get(f)!, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS); parsed.set(f, sf); }
  return sf;
}

// The kernel side: AssemblyScript compiled into kernel.wasm or a service.
const ASSEMBLY = (f: string): boolean => /^(kernel|drivers|lib)\//.test(f) || (/^services\//.test(f) && !/\/test\//.test(f) && !f.endsWith('harness.ts') && !f.endsWith('protocol.ts'));
const KERNEL = (f: string): boolean => /^(kernel|drivers|lib)\//.test(f);
const HOMES = (f: string): boolean => /^hal\//.test(f) || /^services\/[a-z]+\/protocol\.ts$/.test(f);

/** Compares counted violations with the listed exceptions: new ones and stale ones both fail. */
function compare(rule: keyof Exceptions, found: Record<string, number>, what: (key: string, n: number) => string): void {
  const listed = exceptions[rule] as Record<string, number>;
  const problems: string[] = [];
  for (const [key, n] of Object.entries(found)) {
    const allowed = listed[key] ?? 0;
    if (n > allowed) problems.push(what(key, n) + (allowed > 0 ? ` (${allowed} listed)` : ''));
  }
  for (const [key, n] of Object.entries(listed)) {
    if ((found[key] ?? 0) < n) problems.push(`${rule}: ${key} is listed for ${n} but has ${found[key] ?? 0}: shrink test/unit/tidy-exceptions.json`);
  }
  assert.equal(problems, [], problems.join('\n'));
}

test(`lines are at most ${LINE_MAX} characters`, () => {
  const found: Record<string, number> = {};
  for (const [f, t] of text) {
    const n = t.split('\n').filter((l) => l.length > LINE_MAX).length;
    if (n > 0) found[f] = n;
  }
  compare('line_length', found, (f, n) => `${f}: ${n} lines over ${LINE_MAX} characters`);
});

/** Every function with a body in `f`: its name and line count. */
function functionsOf(f: string): { name: string; lines: number; asserts: number }[] {
  const sf = sourceOf(f);
  const out: { name: string; lines: number; asserts: number }[] = [];
  const visit = (n: ts.Node, inside: { asserts: number } | null): void => {
    let here = inside;
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n)) && n.body !== undefined) {
      const lines = sf.getLineAndCharacterOfPosition(n.end).line - sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
      const entry = { name: n.name?.getText(sf) ?? 'constructor', lines, asserts: 0 };
      out.push(entry);
      here = entry;
    }
    if (here !== null && ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'assert') here.asserts++;
    ts.forEachChild(n, (c) => visit(c, here));
  };
  visit(sf, null);
  return out;
}

test(`functions of the kernel side are at most ${FUNCTION_LINES_MAX} lines`, () => {
  const found: Record<string, number> = {};
  for (const f of files.filter(ASSEMBLY)) {
    for (const fn of functionsOf(f)) if (fn.lines > FUNCTION_LINES_MAX) found[`${f}:${fn.name}`] = fn.lines;
  }
  compare('function_length', found, (k, n) => `${k}: ${n} lines (at most ${FUNCTION_LINES_MAX})`);
});

test('no wall clock, randomness or floating point on the kernel side', () => {
  // Time comes from the clock register (logical time in the log), randomness
  // from logged entropy, and money is integers: a float or a wall clock here
  // would make replay differ from the original, or round a balance.
  const BANNED = /\bMath\.random\b|\bDate\.now\b|\bnew Date\b|\bperformance\.now\b|\bf32\b|\bf64\b|\bMath\.(floor|ceil|round|sqrt|pow|exp|log)\b/g;
  const found: Record<string, number> = {};
  for (const f of files.filter(ASSEMBLY)) {
    const code = text.get(f)!.split('\n').filter((l) => !l.trim().startsWith('//')).join('\n');
    const n = [...code.matchAll(BANNED)].length;
    if (n > 0) found[f] = n;
  }
  compare('banned', found, (f, n) => `${f}: ${n} uses of a wall clock, randomness or floating point`);
});

/** `const NAME = <number>` or `const NAME: T = <number>` definitions in a file. */
function literalConstants(f: string): Map<string, string> {
  const out = new Map<string, string>();
  const sf = sourceOf(f);
  const numeric = (e: ts.Expression): boolean => ts.isNumericLiteral(e) || (ts.isPrefixUnaryExpression(e) && ts.isNumericLiteral(e.operand))
    || (ts.isBinaryExpression(e) && numeric(e.left) && numeric(e.right)) || (ts.isParenthesizedExpression(e) && numeric(e.expression))
    || (ts.isTypeAssertionExpression(e) && numeric(e.expression));
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer !== undefined && numeric(n.initializer)
        && ts.isVariableDeclarationList(n.parent) && (n.parent.flags & ts.NodeFlags.Const) !== 0) {
      out.set(n.name.text, n.initializer.getText(sf));
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

test('a contract is written once: no constant of hal/ or a protocol.ts is defined again with its value', () => {
  const homes = new Map<string, string>(); // name -> home file
  for (const f of files.filter(HOMES)) for (const name of literalConstants(f).keys()) homes.set(name, f);
  const copies: string[] = [];
  for (const f of files.filter((x) => !HOMES(x))) {
    for (const [name, value] of literalConstants(f)) {
      if (homes.has(name)) copies.push(`${f}: ${name} = ${value} is ${homes.get(name)}'s; import it`);
    }
    if (f !== 'test/unit/tidy.test.ts' && /0x314c5851|827086929/i.test(text.get(f)!)) copies.push(`${f}: the command log's magic written out (hal/log.ts ENTRY_MAGIC)`);
  }
  assert.equal(copies, [], copies.join('\n'));
});

test('bounds live in their files', () => {
  const HOME = new Set(['host/base/limits.ts', 'hal/limits.ts', 'kernel/base/constants.ts']);
  const found: string[] = [];
  for (const f of files.filter((x) => /^(host|kernel|drivers)\//.test(x) && !HOME.has(x))) {
    const sf = sourceOf(f);
    for (const st of sf.statements) {
      if (!ts.isVariableStatement(st) || !st.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
      for (const d of st.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && /_(MAX|MIN)$/.test(d.name.text) && d.initializer !== undefined && /^[\d_]+|\d\s*[*<]/.test(d.initializer.getText(sf))) {
          found.push(`${f}:${d.name.text}`);
        }
      }
    }
  }
  const listed = new Set(exceptions.limits);
  const problems = [
    ...found.filter((k) => !listed.has(k)).map((k) => `${k}: an exported bound outside the limits files (host/base/limits.ts, hal/limits.ts, kernel/base/constants.ts)`),
    ...[...listed].filter((k) => !found.includes(k)).map((k) => `limits: ${k} is listed but no longer a bound outside the limits files: shrink test/unit/tidy-exceptions.json`),
  ];
  assert.equal(problems, [], problems.join('\n'));
});

/** Value imports of every file, resolved to repo paths (type-only imports and exports left out). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files.filter((x) => x.endsWith('.ts'))) {
    const sf = sourceOf(f);
    const deps: string[] = [];
    for (const st of sf.statements) {
      let spec: ts.Expression | undefined;
      if (ts.isImportDeclaration(st)) {
        const c = st.importClause;
        if (c?.isTypeOnly) continue;
        if (c !== undefined && c.name === undefined && c.namedBindings !== undefined && ts.isNamedImports(c.namedBindings)
            && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)) continue;
        spec = st.moduleSpecifier;
      } else if (ts.isExportDeclaration(st) && st.moduleSpecifier !== undefined && !st.isTypeOnly) {
        spec = st.moduleSpecifier;
      }
      if (spec === undefined || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
      let target = normalize(join(dirname(f), spec.text));
      if (!target.endsWith('.ts')) target += '.ts';
      if (text.has(target)) deps.push(target);
    }
    graph.set(f, deps);
  }
  return graph;
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const connect = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) { connect(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); c.push(w); } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) connect(v);
  return out;
}

test('no import cycles between files, nor between folders of the kernel side or of the host', () => {
  const graph = importGraph();
  const fileCycles = cycles(graph).map((c) => `files: ${c.join(' -> ')}`);
  // Folders: the kernel side's top folders (kernel/, kernel/base/, drivers/<device>/, lib/, hal/...) and the host's.
  const folderOf = (f: string): string => dirname(f);
  const folders = new Map<string, string[]>();
  for (const [f, deps] of graph) {
    if (!/^(kernel|drivers|lib|hal|host)\//.test(f)) continue;
    const a = folderOf(f);
    const list = folders.get(a) ?? [];
    for (const d of deps) if (folderOf(d) !== a && !list.includes(folderOf(d))) list.push(folderOf(d));
    folders.set(a, list);
  }
  const folderCycles = cycles(folders).map((c) => `folders: ${c.join(' -> ')}`);
  assert.equal([...fileCycles, ...folderCycles], [], [...fileCycles, ...folderCycles].join('\n'));
});

test(`the kernel side asserts at least ${ASSERTS_PER_FUNCTION_MIN} time per function on average`, () => {
  for (const [side, pick] of [['kernel/, drivers/, lib/', KERNEL], ['services/', (f: string) => ASSEMBLY(f) && !KERNEL(f)]] as const) {
    let functions = 0;
    let asserts = 0;
    for (const f of files.filter(pick)) for (const fn of functionsOf(f)) { functions++; asserts += fn.asserts; }
    assert.ok(functions > 0, side);
    assert.ok(asserts / functions >= ASSERTS_PER_FUNCTION_MIN, `${side}: ${asserts} assertions in ${functions} functions (${(asserts / functions).toFixed(2)} per function)`);
  }
});

test('every exception says why', () => {
  const keys = [...Object.keys(exceptions.line_length), ...Object.keys(exceptions.function_length), ...Object.keys(exceptions.banned), ...exceptions.limits];
  const unexplained = keys.filter((k) => !Object.keys(exceptions.reasons).some((prefix) => k.startsWith(prefix)));
  assert.equal(unexplained, [], `exceptions without a reason (a "reasons" key that prefixes them): ${unexplained.join(', ')}`);
});

test.run();
