// host/cmd/lists.ts: `qenex lists import|status|rescreen` — the sanctions lists the
// compliance service screens against (docs/compliance.md). A list is loaded
// by commands in the command log (list_begin, list_names…, list_commit), so
// every decision after it names the list version it used and a replay
// decides the same. The files are parsed and every name normalised before
// anything is sent (host/compliance/import.ts): a malformed file is refused
// whole with its error, and the list in force stays. Once a list is in
// force the bank's account owners are screened again against it
// (host/compliance/rescreen.ts); `rescreen` does that alone.
//
// Two ways in (host/cmd/console.ts): --data <dir> when the system is stopped,
// --url <base> --key <admin key> when it runs (POST /v1/compliance/lists with
// the files in base64; the server parses them with the same code).

import { readFileSync } from 'node:fs';
import { parseArgs, CliError, EXIT_USAGE, processIo, type CommandIo } from './args.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { viaConsole, viaHttp } from './console.ts';
import { ListError, type ListId } from '../compliance/lists.ts';
import { NameError } from '../compliance/names.ts';
import { checkCommitted, importedLine, LIST_FILES, parseListFiles, prepareLoad, type ListFiles } from '../compliance/import.ts';
import { ComplianceRefusal, listStatusReply, listStatusRequest, RecordError } from '../compliance/records.ts';
import { complianceTaken, listStatusJson } from '../gateway/compliance-front.ts';
import { rescreenJson, rescreenVia } from '../compliance/rescreen.ts';

const TARGET = `<target> is either
  --data <dir> [--trust <signing.pub>] [--backend auto|native|pure]   the system is stopped
  --url http://host:port --key <admin key>                             the system is running`;

export const USAGE = `usage: qenex lists import --list ofac_sdn --sdn <sdn.csv> --alt <alt.csv> --add <add.csv> [--comments <sdn_comments.csv>] <target>
       qenex lists import --list un --file <UN_consolidated.xml> <target>
       qenex lists status <target>
       qenex lists rescreen <target>

import  parses the list's files (OFAC's legacy CSV, the UN's consolidated XML), normalises every
        name and loads them into the compliance service: staged, then put in force whole. Prints
        one JSON line {"event":"list_imported","list","version","entries","names","skipped"}:
        version is the SHA-256 of the SHA-256 digests of the files in the order above. Then every
        account owner in the payments directory is screened again (below): the line also has
        owners_screened, owners_listed, marks_changed, alerts, owners_unnamed.
status  prints {"event":"lists","lists":[{"list","version","entries","names",...}]}.
rescreen screens every account owner in the payments directory against the lists in force: a listed
        owner marks the account (its payments are sanctions matches), a new match raises an alert,
        a delisted owner is cleared. Prints {"event":"rescreened","owners_screened","owners_listed",
        "marks_changed","alerts","owners_unnamed"}.

${TARGET}
`;

// Flag → file key of host/compliance/import.ts ListFiles.
const FILE_FLAGS: Record<string, string> = { sdn: 'sdn', alt: 'alt', add: 'add', comments: 'comments', file: 'file' };

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, {
    values: ['data', 'trust', 'backend', 'url', 'key', 'list', ...Object.keys(FILE_FLAGS)],
    positionals: { min: 0, max: 1, names: ['import|status|rescreen'] },
  });
  if (args.help) { io.out(USAGE); return 0; }
  const action = args.positionals[0];
  if (action !== 'import' && action !== 'status' && action !== 'rescreen') {
    (io.err ?? processIo.err!)(USAGE);
    return EXIT_USAGE;
  }
  const data = args.values.get('data');
  const url = args.values.get('url');
  if ((data === undefined) === (url === undefined)) throw new CliError('lists: give exactly one of --data <dir> or --url <base>', EXIT_USAGE);
  if (url !== undefined && !args.values.has('key')) throw new CliError('lists: --url needs --key <admin key>', EXIT_USAGE);
  const print = (o: object) => io.out(JSON.stringify(o) + '\n');
  if (action === 'status') {
    const r = url !== undefined ? await viaHttp(url, args.values.get('key')!, 'GET', '/v1/compliance/lists')
      : { lists: listStatusJson(await viaConsole(io, data!, args.values, async (send) => listStatusReply(await send(gw.ROUTE_LISTS_LOAD, listStatusRequest())))) };
    print({ event: 'lists', ...(r as object) });
    return 0;
  }
  if (action === 'rescreen') {
    print(url !== undefined ? await viaHttp(url, args.values.get('key')!, 'POST', '/v1/compliance/rescreen', {}) as object
      : { event: 'rescreened', ...rescreenJson(await viaConsole(io, data!, args.values, rescreenVia)) });
    return 0;
  }
  const files = readListFiles(args.values);
  if (url !== undefined) {
    const body = { list: files.list, files: Object.fromEntries(Object.entries(files).filter(([k]) => k !== 'list').map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString('base64')])) };
    print(await viaHttp(url, args.values.get('key')!, 'POST', '/v1/compliance/lists', body) as object);
    return 0;
  }
  const prepared = prepare(files);
  const tally = await viaConsole(io, data!, args.values, async (send) => {
    let reply: Buffer = Buffer.alloc(0);
    for (const request of prepared.requests) {
      reply = await send(gw.ROUTE_LISTS_LOAD, request);
      if (!complianceTaken(reply)) break;
    }
    try {
      checkCommitted(prepared, reply);
    } catch (e) {
      if (e instanceof ComplianceRefusal) throw new CliError(`the compliance service refused the list: ${e.message}`);
      if (e instanceof RecordError) throw new CliError(`the list was not committed as sent: ${e.message}`);
      throw e;
    }
    // The list is in force: a rescreen refused part way is reported with the import, not as its failure.
    return rescreenVia(send).then((t) => rescreenJson(t), (e: unknown) => {
      if (e instanceof CliError) return { rescreen_error: e.message };
      throw e;
    });
  });
  print({ ...importedLine(prepared), ...tally });
  return 0;
}

/** The files the flags name, read, for the list --list names. */
function readListFiles(values: Map<string, string>): ListFiles {
  const list = values.get('list');
  if (list !== 'ofac_sdn' && list !== 'un') throw new CliError('lists import: --list ofac_sdn or --list un', EXIT_USAGE);
  const { required, optional } = LIST_FILES[list as ListId];
  const out: Record<string, Uint8Array> = {};
  for (const flag of Object.keys(FILE_FLAGS)) {
    const path = values.get(flag);
    if (path === undefined) continue;
    if (!required.includes(flag) && !optional.includes(flag)) throw new CliError(`lists import: --${flag} is not a file of ${list}`, EXIT_USAGE);
    try {
      out[flag] = readFileSync(path);
    } catch (e) {
      throw new CliError(`lists import: --${flag} ${path}: ${(e as Error).message}`);
    }
  }
  for (const k of required) if (out[k] === undefined) throw new CliError(`lists import: --list ${list} needs --${k} <file>`, EXIT_USAGE);
  return { list, ...out } as ListFiles;
}

function prepare(files: ListFiles): ReturnType<typeof prepareLoad> {
  try {
    return prepareLoad(parseListFiles(files));
  } catch (e) {
    if (e instanceof ListError || e instanceof NameError) throw new CliError(`lists import: ${e.message}; nothing was loaded`);
    throw e;
  }
}
