// kernel/digest.ts: the state digest (kernel_digest). SHA-256 over the
// applied state of the kernel: chain head, counters, RNG, timers, tokens,
// event numbering, each service's supervision and live-load state, and the
// HSM's. The host combines it with each service's memory; a replay of the
// same log must reach the same digest, so nothing of staging goes in.

import { SERVICES_MAX } from "./base/constants";
import { service, serviceCount } from "./services";
import { timersActive } from "./timers";
import { clientTokens, serviceTokens } from "./tokens";
import { eventNextId } from "../drivers/events/events";
import { sha256Init, sha256Update, sha256Final, SHA256_CTX_BYTES } from "../lib/sha256";
import * as hsm from "./hsm";
import * as st from "./state";

const digestCtx: usize = memory.data(<i32>SHA256_CTX_BYTES, 16);
const digestOut: usize = memory.data(32, 16);
const digestScratch: usize = memory.data(64, 16);

// The digest's 32 bytes, at an address that stays valid until the next call.
export function stateDigest(): usize {
  assert(clientTokens.inUse <= clientTokens.count && serviceTokens.inUse <= serviceTokens.count && serviceCount <= SERVICES_MAX, "kernel_digest: counts within their pools");
  sha256Init(digestCtx);
  sha256Update(digestCtx, st.appliedChain, 32);
  store<u64>(digestScratch, st.appliedSeq);
  store<u64>(digestScratch + 8, st.appliedTimeNs);
  store<u64>(digestScratch + 16, st.appliedBatch);
  store<u64>(digestScratch + 24, st.rngCounter);
  store<u32>(digestScratch + 32, timersActive());
  store<u32>(digestScratch + 36, clientTokens.inUse);
  store<u32>(digestScratch + 40, serviceTokens.inUse);
  store<u32>(digestScratch + 44, serviceCount);
  sha256Update(digestCtx, digestScratch, 48);
  // Event numbering: a replay must hand out the same ids.
  store<u64>(digestScratch, eventNextId);
  sha256Update(digestCtx, digestScratch, 8);
  // Supervision state: a replay must fault, restart and fail the same way.
  for (let i: u32 = 0; i < serviceCount; i++) {
    const s = service(i);
    store<u64>(digestScratch, s.faults);
    store<u64>(digestScratch + 8, s.restarts);
    store<u64>(digestScratch + 16, s.windowStartNs);
    store<u32>(digestScratch + 24, s.windowFaults);
    store<u32>(digestScratch + 28, s.failed ? 1 : 0);
    sha256Update(digestCtx, digestScratch, 32);
    // Live load (kernel/liveload.ts): which version runs, what was loaded or unloaded.
    store<u32>(digestScratch, s.version);
    store<u32>(digestScratch + 4, (s.live ? 1 : 0) | (s.unloaded ? 2 : 0));
    store<u32>(digestScratch + 8, s.caps);
    store<u32>(digestScratch + 12, s.inboxBytes);
    sha256Update(digestCtx, digestScratch, 16);
  }
  hsm.hsmDigest(digestCtx);
  sha256Update(digestCtx, st.rngSeed, 32);
  sha256Final(digestCtx, digestOut);
  return digestOut;
}
