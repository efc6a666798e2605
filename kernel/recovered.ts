// kernel/recovered.ts: what the kernel does when recovery (kernel/recovery.ts)
// has read and applied the whole command log: it reports the log, then a
// replay boot halts, and a live boot cuts a torn tail, resumes the log where
// recovery ended (a new log first binds itself to the image) and starts
// serving (receive buffers, entropy, HSM requests a crash lost).

import { ACT_HALT, BOOT_REPLAY, KSTATE_HALTED } from "../hal/abi";
import { BOOT_DIGEST_BYTES } from "./base/constants";
import { setKernelState } from "./base/hal";
import { bootArea } from "./boot";
import { bootMode, recoveredGroups, setPreallocatedBytes, STEP_AGAIN } from "./runstate";
import { conBegin, conStr, conU64, conEnd } from "../drivers/console/console";
import { blockTruncate } from "../drivers/block/block";
import { netPostAllRx } from "../drivers/net/net";
import { entropyRequest } from "../drivers/entropy/entropy";
import { clockNow } from "../drivers/clock/clock";
import * as log from "./log";
import * as rec from "./recovery";
import * as hsm from "./hsm";
import * as st from "./state";

function reportTail(cut: bool): void {
  assert(rec.deviceEndBytes() >= rec.endOffset, "reportTail: the tail lies after the end of the log");
  if (!conBegin()) return;
  conStr(cut ? "{\"event\":\"log_tail_cut\"" : "{\"event\":\"log_tail_torn\"");
  conStr(",\"entry\":"); conU64(rec.nextSeq);
  conStr(",\"offset\":"); conU64(rec.endOffset);
  conStr(",\"bytes\":"); conU64(rec.deviceEndBytes() - rec.endOffset);
  conStr(",\"reason\":\""); conStr(rec.firstBadReason == "" ? "stray bytes after the end" : rec.firstBadReason);
  conStr("\"");
  if (rec.tornBatch) {
    // Valid entries of the same batch follow the damage: the batch write in
    // flight at the crash was torn; none of it was acknowledged.
    conStr(",\"torn_batch\":true,\"next_valid_entry\":"); conU64(rec.laterSeq);
  }
  conEnd(false);
}

// ACT_HALT after a replay; STEP_AGAIN when the live kernel serves next.
export function recoveryDone(): u32 {
  assert(rec.failure == rec.FAIL_NONE && !rec.recoveryWaiting() && st.appliedSeq == rec.nextSeq, "recoveryDone: every recovered entry was applied");
  const torn = rec.recoveryTorn();
  if (conBegin()) {
    conStr("{\"event\":\"log_recovered\",\"entries\":"); conU64(rec.nextSeq);
    conStr(",\"batches\":"); conU64(recoveredGroups);
    conStr(",\"end_offset\":"); conU64(rec.endOffset);
    conEnd(false);
  }
  if (bootMode == BOOT_REPLAY) {
    if (torn) reportTail(false);
    setKernelState(KSTATE_HALTED);
    st.setPhase(st.PHASE_STOPPED);
    return ACT_HALT;
  }
  setPreallocatedBytes(rec.deviceEndBytes());
  if (torn) {
    reportTail(true);
    blockTruncate(rec.endOffset);
    setPreallocatedBytes(rec.endOffset);
  }
  log.logResume(rec.nextSeq, rec.lastTimeNs, rec.lastBatch, rec.endOffset, rec.chain);
  st.setPhase(st.PHASE_SERVE);
  netPostAllRx();
  entropyRequest();
  if (rec.nextSeq == 0) {
    // A new log: its first entry binds it to this image.
    log.logHasRoom(BOOT_DIGEST_BYTES);
    log.logStage(log.ENTRY_GENESIS, 0xffff, 0, 0, bootArea, BOOT_DIGEST_BYTES, clockNow());
  }
  hsm.hsmRecovered(clockNow()); // requests whose results a crash lost
  return STEP_AGAIN;
}
