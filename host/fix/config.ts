// host/fix/config.ts: the FIX acceptor's configuration (docs/fix.md "The
// acceptor"): where it listens, which sessions it serves, and the options
// every session shares. From the manifest's top-level "fix" object and from
// `qenex boot` flags, the flags overriding:
//
//   --fix-listen host:port
//   --fix-session <OurCompID>:<TheirCompID>     (repeatable; replaces the manifest's sessions)
//   --fix-option name=value                     (repeatable; each overrides the manifest's option of that name)
//
//   "fix": { "listen": "127.0.0.1:9878", "sessions": [{ "sender": "QENEX", "target": "CLIENT1" }], "options": { "keys": true } }
//
// In the manifest a session's sender is our CompID (what our messages carry
// in SenderCompID 49) and its target is theirs, as an acceptor's settings
// name them. Options (values as strings on the command line; booleans,
// numbers or strings in the manifest):
//   reset_on_logon, reset_on_logout, reset_on_disconnect   true|false (default false): sequence numbers back to 1 then
//   max_latency_s      SendingTime accuracy, seconds (default 120; 0: not checked)
//   heartbeat_min_s, heartbeat_max_s   the HeartBtInt a Logon may ask for (default 1 and 300)
//   validate           true|false (default true): messages checked against the FIX 4.4 dictionary
//   allowed_sources    comma-separated IP addresses and CIDR blocks a connection may come from (default: any)
//   tls_cert, tls_key  PEM files: the listener speaks TLS 1.2+ only
//   tls_client_ca      PEM file: clients must present a certificate chaining to it (mutual TLS)
//   keys               true|false (default false): the Logon carries Username (553) and Password (554), the Password an
//                      API key whose role may trade; the session's requests then carry that key
// Unknown names and bad values are refused (FixConfigError) before the machine boots.

import net from 'node:net';
import * as P from '../../services/fix/protocol.ts';

export class FixConfigError extends Error {
  override name = 'FixConfigError';
}

export interface FixSessionConfig {
  /** Our CompID: SenderCompID (49) of what we send, TargetCompID (56) of what they send. */
  readonly ours: string;
  /** Their CompID. */
  readonly theirs: string;
}

export interface FixOptions {
  resetOnLogon: boolean;
  resetOnLogout: boolean;
  resetOnDisconnect: boolean;
  maxLatencyS: number;
  heartbeatMinS: number;
  heartbeatMaxS: number;
  validate: boolean;
  /** The allowed_sources text as given ('' : any source). */
  allowedSources: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  keys: boolean;
}

export interface FixConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly sessions: readonly FixSessionConfig[];
  readonly options: Readonly<FixOptions>;
  /** allowed_sources as a block list; null: any source. */
  readonly sources: net.BlockList | null;
}

/** What the boot flags said (each repeatable flag in the order given). */
export interface FixFlags {
  listen?: string;
  sessions: string[];
  options: string[];
}

export const FIX_OPTION_NAMES = [
  'reset_on_logon', 'reset_on_logout', 'reset_on_disconnect', 'max_latency_s', 'heartbeat_min_s', 'heartbeat_max_s', 'validate',
  'allowed_sources', 'tls_cert', 'tls_key', 'tls_client_ca', 'keys',
] as const;

// A CompID is printable ASCII without SOH or '=' (so it never breaks a field) and fits the protocol's id.
const COMP_ID = /^[!-<>-~]+$/;
// Seconds an option may say: a day is far beyond any FIX heartbeat or latency bound.
const SECONDS_LIMIT = 86_400;

export function defaultFixOptions(): FixOptions {
  return {
    resetOnLogon: false, resetOnLogout: false, resetOnDisconnect: false, maxLatencyS: P.MAX_LATENCY_DEFAULT_S,
    heartbeatMinS: P.HEARTBEAT_MIN_DEFAULT_S, heartbeatMaxS: P.HEARTBEAT_MAX_DEFAULT_S, validate: true, allowedSources: '', keys: false,
  };
}

function flag(name: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new FixConfigError(`FIX option ${name}: true or false, got ${JSON.stringify(value)}`);
}

function seconds(name: string, value: string): number {
  if (!/^(0|[1-9][0-9]{0,5})$/.test(value) || Number(value) > SECONDS_LIMIT) {
    throw new FixConfigError(`FIX option ${name}: whole seconds 0 to ${SECONDS_LIMIT}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function path(name: string, value: string): string {
  if (value === '') throw new FixConfigError(`FIX option ${name}: a file path`);
  return value;
}

/** Sets one option from its text; FixConfigError for an unknown name or a bad value. */
export function setFixOption(into: FixOptions, name: string, value: string): void {
  switch (name) {
    case 'reset_on_logon': into.resetOnLogon = flag(name, value); return;
    case 'reset_on_logout': into.resetOnLogout = flag(name, value); return;
    case 'reset_on_disconnect': into.resetOnDisconnect = flag(name, value); return;
    case 'max_latency_s': into.maxLatencyS = seconds(name, value); return;
    case 'heartbeat_min_s': into.heartbeatMinS = seconds(name, value); return;
    case 'heartbeat_max_s': into.heartbeatMaxS = seconds(name, value); return;
    case 'validate': into.validate = flag(name, value); return;
    case 'allowed_sources': parseSources(value); into.allowedSources = value; return;
    case 'tls_cert': into.tlsCert = path(name, value); return;
    case 'tls_key': into.tlsKey = path(name, value); return;
    case 'tls_client_ca': into.tlsClientCa = path(name, value); return;
    case 'keys': into.keys = flag(name, value); return;
    default: throw new FixConfigError(`unknown FIX option ${JSON.stringify(name)} (known: ${FIX_OPTION_NAMES.join(', ')})`);
  }
}

/** An IP address without an IPv4-mapped IPv6 prefix, and its family. */
function plainAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | null {
  const a = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const v = net.isIP(a);
  return v === 4 ? { address: a, family: 'ipv4' } : v === 6 ? { address: a, family: 'ipv6' } : null;
}

/** allowed_sources ("10.0.0.0/8, 192.168.1.7, ::1") as a block list; null for '' (any source). */
export function parseSources(text: string): net.BlockList | null {
  if (text.trim() === '') return null;
  const list = new net.BlockList();
  for (const item of text.split(',').map((s) => s.trim())) {
    const [addr = '', prefix, extra] = item.split('/');
    const a = plainAddress(addr);
    if (a === null || extra !== undefined) throw new FixConfigError(`FIX option allowed_sources: ${JSON.stringify(item)} is not an IP address or CIDR block`);
    if (prefix === undefined) { list.addAddress(a.address, a.family); continue; }
    const bits = /^[0-9]{1,3}$/.test(prefix) ? Number(prefix) : -1;
    if (bits < 0 || bits > (a.family === 'ipv4' ? 32 : 128)) throw new FixConfigError(`FIX option allowed_sources: ${JSON.stringify(item)} has a bad prefix length`);
    list.addSubnet(a.address, bits, a.family);
  }
  return list;
}

/** Whether a connection from `address` may log on (any, when no allowed_sources were given). */
export function sourceAllowed(sources: net.BlockList | null, address: string | undefined): boolean {
  if (sources === null) return true;
  const a = plainAddress(address ?? '');
  return a !== null && sources.check(a.address, a.family);
}

/** "<OurCompID>:<TheirCompID>". */
export function parseFixSession(text: string): FixSessionConfig {
  const at = text.indexOf(':');
  const ours = at < 0 ? '' : text.slice(0, at);
  const theirs = at < 0 ? '' : text.slice(at + 1);
  for (const id of [ours, theirs]) {
    if (!COMP_ID.test(id) || id.length > P.ID_MAX) {
      throw new FixConfigError(`FIX session ${JSON.stringify(text)}: want <OurCompID>:<TheirCompID>, each 1 to ${P.ID_MAX} printable characters without '='`);
    }
  }
  return { ours, theirs };
}

export function parseFixListen(text: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || m[1] === '' || !(port >= 0 && port <= 65535)) throw new FixConfigError(`FIX listen wants host:port (e.g. 127.0.0.1:9878), got ${JSON.stringify(text)}`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** The manifest's "fix" object, checked: its listen, sessions as "ours:theirs" texts, options as texts. */
function fromManifest(spec: unknown): { listen?: string; sessions: string[]; options: [string, string][] } {
  if (spec === undefined) return { sessions: [], options: [] };
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new FixConfigError('manifest: fix: an object');
  const o = spec as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['listen', 'sessions', 'options'].includes(k)) throw new FixConfigError(`manifest: fix.${k}: unknown field (allowed: listen, sessions, options)`);
  if (o.listen !== undefined && typeof o.listen !== 'string') throw new FixConfigError('manifest: fix.listen: a "host:port" string');
  const sessions: string[] = [];
  if (o.sessions !== undefined) {
    if (!Array.isArray(o.sessions)) throw new FixConfigError('manifest: fix.sessions: a list of {"sender", "target"}');
    o.sessions.forEach((s: unknown, i) => {
      const e = s as { sender?: unknown; target?: unknown } | null;
      const keys = typeof e === 'object' && e !== null ? Object.keys(e) : [];
      if (typeof e?.sender !== 'string' || typeof e?.target !== 'string' || keys.length !== 2) {
        throw new FixConfigError(`manifest: fix.sessions[${i}]: {"sender": our CompID, "target": their CompID}`);
      }
      sessions.push(`${e.sender}:${e.target}`);
    });
  }
  const options: [string, string][] = [];
  if (o.options !== undefined) {
    if (typeof o.options !== 'object' || o.options === null || Array.isArray(o.options)) throw new FixConfigError('manifest: fix.options: an object');
    for (const [k, v] of Object.entries(o.options)) {
      if (typeof v !== 'string' && typeof v !== 'boolean' && typeof v !== 'number') throw new FixConfigError(`manifest: fix.options.${k}: a string, number or boolean`);
      options.push([k, String(v)]);
    }
  }
  return { listen: o.listen as string | undefined, sessions, options };
}

/** Checks the manifest's "fix" object on its own (the manifest's validation calls this). */
export function checkFixManifest(spec: unknown): void {
  fixConfig(spec, { sessions: [], options: [] }, false);
}

/**
 * The acceptor's configuration from the manifest's "fix" object and the boot
 * flags (flags win), or null when neither asks for a listener. FixConfigError
 * for anything wrong: unknown options, bad values, a session twice, sessions
 * without a listener, half a TLS pair.
 */
export function fixConfig(manifestFix: unknown, flags: FixFlags, needListen = true): FixConfig | null {
  const m = fromManifest(manifestFix);
  const options = defaultFixOptions();
  for (const [k, v] of m.options) setFixOption(options, k, v);
  for (const text of flags.options) {
    const eq = text.indexOf('=');
    if (eq <= 0) throw new FixConfigError(`--fix-option wants name=value, got ${JSON.stringify(text)}`);
    setFixOption(options, text.slice(0, eq), text.slice(eq + 1));
  }
  const sessions = (flags.sessions.length > 0 ? flags.sessions : m.sessions).map(parseFixSession);
  checkSessions(sessions);
  checkOptions(options);
  const listenText = flags.listen ?? m.listen;
  const listen = listenText === undefined ? undefined : parseFixListen(listenText);
  if (listen === undefined) {
    if (needListen && (sessions.length > 0 || flags.options.length > 0)) throw new FixConfigError('FIX sessions or options without --fix-listen host:port');
    return null;
  }
  if (sessions.length === 0 && needListen) throw new FixConfigError('--fix-listen without a session: give --fix-session <OurCompID>:<TheirCompID>');
  return { listen, sessions, options, sources: parseSources(options.allowedSources) };
}

function checkSessions(sessions: readonly FixSessionConfig[]): void {
  if (sessions.length > P.SESSIONS_MAX) throw new FixConfigError(`${sessions.length} FIX sessions, at most ${P.SESSIONS_MAX}`);
  const seen = new Set<string>();
  for (const s of sessions) {
    const key = `${s.ours}\x01${s.theirs}`;
    if (seen.has(key)) throw new FixConfigError(`FIX session ${s.ours}:${s.theirs} given twice`);
    seen.add(key);
  }
}

function checkOptions(o: FixOptions): void {
  if (o.heartbeatMinS > o.heartbeatMaxS) throw new FixConfigError(`FIX options: heartbeat_min_s ${o.heartbeatMinS} over heartbeat_max_s ${o.heartbeatMaxS}`);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new FixConfigError('FIX options: give both tls_cert and tls_key');
  if (o.tlsClientCa !== undefined && o.tlsCert === undefined) throw new FixConfigError('FIX options: tls_client_ca needs tls_cert and tls_key');
}

/** The LO_* flags of a Logon's options for these options. */
export function logonOptionFlags(o: Readonly<FixOptions>): number {
  return (o.resetOnLogon ? P.LO_RESET_ON_LOGON : 0) | (o.resetOnLogout ? P.LO_RESET_ON_LOGOUT : 0) | (o.resetOnDisconnect ? P.LO_RESET_ON_DISCONNECT : 0);
}

const FLAG_NAMES: Record<string, 'listen' | 'sessions' | 'options'> = { 'fix-listen': 'listen', 'fix-session': 'sessions', 'fix-option': 'options' };

/**
 * Takes the FIX flags out of a command line (`--fix-session` and
 * `--fix-option` may repeat, which the shared parser refuses), returning the
 * rest for it. A flag without its value is refused.
 */
export function takeFixFlags(argv: readonly string[]): { rest: string[]; flags: FixFlags } {
  const flags: FixFlags = { sessions: [], options: [] };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--(fix-listen|fix-session|fix-option)(?:=(.*))?$/s.exec(arg);
    if (arg === '--') { rest.push(...argv.slice(i)); break; }
    if (m === null) { rest.push(arg); continue; }
    let value = m[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) throw new FixConfigError(`--${m[1]} needs a value`);
      i++;
    }
    const into = FLAG_NAMES[m[1]!]!;
    if (into === 'listen') {
      if (flags.listen !== undefined) throw new FixConfigError('--fix-listen given twice');
      flags.listen = value;
    } else flags[into].push(value);
  }
  return { rest, flags };
}
