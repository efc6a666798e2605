// host/compliance/rescreen.ts: the bank's account owners screened again
// (docs/compliance.md "Account owners screened after a list update"): the
// payments directory read page by page (directory_list, on the gateway's
// ROUTE_RESCREEN) and each page's owners, their names normalised here,
// sent to the compliance service (accounts_screen, on ROUTE_ACCOUNTS_SCREEN),
// until a page comes back empty. One chain of frames, each built from the
// reply before it: the gateway's front end sends it for POST
// /v1/compliance/rescreen and after a list load, and the console runs the
// same chain for `qenex lists import|rescreen --data`.

import * as gw from '../../services/gateway/protocol.ts';
import { directoryListReply, directoryListRequest } from '../payments/records.ts';
import { accountsScreenReply, accountsScreenRequest, type Owner } from './cases.ts';
import { partyName } from './names.ts';
import type { Frame } from '../gateway/gateway-wire.ts';

// Directory entries a page: what one accounts_screen takes (OWNERS_PER_REQUEST is larger).
const PAGE = 1024;

/** What a rescreen did: owners screened, owners matching, marks changed, alerts raised; entries without a name to screen. */
export interface RescreenTally { owners: number; matches: number; changed: number; alerts: number; unnamed: number }

/** The first frame of a rescreen: the directory's first page. */
export function rescreenFirst(): Frame {
  return { route: gw.ROUTE_RESCREEN, body: directoryListRequest(0, PAGE) };
}

/**
 * The frame after each reply of a rescreen, the tally kept up to date;
 * null when the directory is done (a page of no entries). A refusal throws
 * (records.ts's refusals), which ends the chain.
 */
export function rescreenNext(tally: RescreenTally, state: { after: number; screening: boolean }, reply: Buffer): Frame | null {
  if (state.screening) {
    const r = accountsScreenReply(reply);
    tally.owners += r.results.length;
    tally.matches += r.matches;
    tally.changed += r.results.filter((x) => x.changed).length;
    tally.alerts += r.results.filter((x) => x.alert !== 0).length;
    state.screening = false;
    return { route: gw.ROUTE_RESCREEN, body: directoryListRequest(state.after, PAGE) };
  }
  const page = directoryListReply(reply);
  if (page.entries.length === 0) return null;
  state.after = page.last;
  const owners: Owner[] = [];
  for (const e of page.entries) {
    const name = partyName(e.name);
    if (name === '') tally.unnamed++;
    else owners.push({ ledger: e.ledger, account: e.account, name });
  }
  if (owners.length === 0) return { route: gw.ROUTE_RESCREEN, body: directoryListRequest(state.after, PAGE) };
  state.screening = true;
  return { route: gw.ROUTE_ACCOUNTS_SCREEN, body: accountsScreenRequest(owners) };
}

/** A rescreen's chain state and tally, fresh. */
export function rescreenStart(): { tally: RescreenTally; state: { after: number; screening: boolean } } {
  return { tally: { owners: 0, matches: 0, changed: 0, alerts: 0, unnamed: 0 }, state: { after: 0, screening: false } };
}

/** Runs a whole rescreen through `send` (the console's sender): the tally. */
export async function rescreenVia(send: (route: number, body: Buffer) => Promise<Buffer>): Promise<RescreenTally> {
  const { tally, state } = rescreenStart();
  for (let f: Frame | null = rescreenFirst(); f !== null;) f = rescreenNext(tally, state, await send(f.route!, f.body));
  return tally;
}

/** The tally as the answer's JSON fields. */
export function rescreenJson(t: RescreenTally): Record<string, number> {
  return { owners_screened: t.owners, owners_listed: t.matches, marks_changed: t.changed, alerts: t.alerts, owners_unnamed: t.unnamed };
}
