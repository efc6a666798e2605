// fuzz/instrument.ts: coverage instrumentation of TypeScript and
// AssemblyScript source, for the coverage-guided fuzzer (fuzz/engine.ts).
//
// A site is a place where control can arrive: the start of every block
// (function bodies, loop bodies, branches), every `case`, the implied
// `else` of an `if` that has none, and (TypeScript only) each arm of a
// conditional expression. At each site the source gets a call
// `__cov(<id>)`; the runtime (fuzz/cov.ts for TypeScript,
// fuzz/assembly/cov.ts for AssemblyScript) records the edge from the
// previous site into a 64 KiB map of hit counts, as AFL does.
//
// The source is parsed with the TypeScript compiler (AssemblyScript is
// TypeScript syntax) and rewritten as text: each node's text is the source
// between its children with the children's rewritten text in place, so
// nothing outside the inserted calls changes, and nested insertions close
// in the right order. A build numbers the sites of all its files in turn,
// so every site has its own id and a target's coverage is an exact count
// of the sites it reached.

import ts from 'typescript';

export interface Instrumented {
  text: string;
  /** Ids of the sites inserted, in source order. */
  sites: number[];
}

export type SourceKind = 'ts' | 'as';

/**
 * A site id: the site's number times an odd constant, mod 2^16, spread over
 * the map so that neighbouring sites do not make neighbouring edges.
 */
export function siteId(n: number): number {
  return Math.imul(n, 40503) & 0xffff;
}

/**
 * Where a file's site numbers start: from its path alone (FNV-1a), so a
 * file's instrumented text, and with it the digest of the targets that
 * fuzz it, changes only when that file does, not when another file gains
 * or loses sites. Two files' ids may meet, as in any hashed coverage map.
 */
export function firstSite(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return (h >>> 0) & 0xffff;
}

/**
 * Returns `text` with a `__cov(id)` call at every site; the sites are
 * numbered from `first` (firstSite of the file's path). `kind` 'as' leaves expressions alone (AssemblyScript's comma
 * operator is typed strictly).
 */
export function instrumentSource(text: string, path: string, kind: SourceKind, first: number): Instrumented {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const sites: number[] = [];
  const call = (): string => {
    const id = siteId(first + sites.length);
    sites.push(id);
    return `__cov(${id});`;
  };

  // The rewritten text of [node.pos, node.end): the gaps between children
  // as they are, each child rewritten.
  const rewrite = (node: ts.Node): string => {
    const children = node.getChildren(sf);
    if (children.length === 0) return text.slice(node.pos, node.end);
    let out = '';
    let at = node.pos;
    for (const child of children) {
      out += text.slice(at, child.pos);
      out += rewriteChild(node, child);
      at = child.end;
    }
    return out + text.slice(at, node.end);
  };

  // A statement in branch or body position that is not a block is wrapped
  // in one that starts with a site.
  const asBlock = (stmt: ts.Statement): string => {
    if (ts.isBlock(stmt)) return rewrite(stmt);
    const leading = text.slice(stmt.pos, stmt.getStart(sf));
    const site = call();
    return `${leading}{ ${site} ${rewrite(stmt).slice(leading.length)} }`;
  };

  const rewriteChild = (parent: ts.Node, child: ts.Node): string => {
    if (ts.isBlock(child)) {
      // The site goes right after the opening brace.
      const open = child.getStart(sf) + 1;
      const full = rewrite(child);
      const cut = open - child.pos;
      return full.slice(0, cut) + ` ${call()}` + full.slice(cut);
    }
    if (ts.isIfStatement(parent)) {
      if (child === parent.thenStatement) {
        const then = asBlock(parent.thenStatement);
        return parent.elseStatement === undefined ? `${then} else { ${call()} }` : then;
      }
      if (child === parent.elseStatement && !ts.isIfStatement(child)) return asBlock(child as ts.Statement);
    }
    if (ts.isIterationStatement(parent, false) && child === parent.statement) return asBlock(parent.statement);
    if (ts.isLabeledStatement(parent) && child === parent.statement && !ts.isBlock(child) && !ts.isIterationStatement(child, false)) {
      return asBlock(parent.statement);
    }
    if ((ts.isCaseClause(parent) || ts.isDefaultClause(parent)) && child.kind === ts.SyntaxKind.SyntaxList) {
      const full = rewrite(child);
      return ` ${call()}${full}`;
    }
    if (kind === 'ts' && ts.isConditionalExpression(parent) && (child === parent.whenTrue || child === parent.whenFalse)) {
      const leading = text.slice(child.pos, child.getStart(sf));
      const site = call().slice(0, -1); // the call without its semicolon
      return `${leading}(${site}, ${rewrite(child).slice(leading.length)})`;
    }
    return rewrite(child);
  };

  const body = rewrite(sf);
  return { text: body, sites };
}
