// kernel/stats.ts: the kernel's statistics by id (kernel_stat; ids in
// hal/kernel.ts STAT_*). Reads counters where they live (the applied state,
// the pools, the drivers) and never changes anything; an unknown id is 0.

import { reservedTotal } from "./base/mem";
import { service, serviceCount } from "./services";
import { descriptors, slots } from "./msg";
import { rounds } from "./sched";
import { timersActive } from "./timers";
import { clientTokens, serviceTokens } from "./tokens";
import { stagedInputs, readsAnswered } from "./runstate";
import { consoleDropped } from "../drivers/console/console";
import { framesDropped, netErrorFramesInUse } from "../drivers/net/net";
import * as snap from "./snapshot";
import * as st from "./state";

export function kernelStat(id: u32): u64 {
  switch (id) {
    case 0: return st.appliedSeq;
    case 1: return st.appliedBatch;
    case 2: return rounds;
    case 3: return st.deniedCalls;
    case 4: return <u64>descriptors.inUse;
    case 5: return <u64>slots.inUse;
    case 6: return <u64>slots.exhausted;
    case 7: return consoleDropped;
    case 8: return framesDropped;
    case 9: return <u64>clientTokens.inUse;
    case 10: return reservedTotal();
    case 11: return st.inputsDropped;
    case 12: return st.appliedTimeNs;
    case 13: return serviceTotal(false);
    case 14: return serviceTotal(true);
    case 15: return snap.written;
    case 16: return snap.newestEntries;
    case 17: return <u64>serviceTokens.inUse;
    case 18: return <u64>timersActive();
    case 19: return <u64>stagedInputs;
    case 20: return <u64>netErrorFramesInUse();
    case 21: return readsAnswered;
    default: return 0;
  }
}

// Faults (or restarts) of every service, summed.
function serviceTotal(restarts: bool): u64 {
  let n: u64 = 0;
  for (let i: u32 = 0; i < serviceCount; i++) {
    assert(service(i).restarts <= service(i).faults, "serviceTotal: every restart follows a fault");
    n += restarts ? service(i).restarts : service(i).faults;
  }
  return n;
}
