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
import * as k from "../hal/kernel";

export function kernelStat(id: u32): u64 {
  switch (id) {
    case k.STAT_ENTRIES_APPLIED: return st.appliedSeq;
    case k.STAT_BATCHES_APPLIED: return st.appliedBatch;
    case k.STAT_SCHED_ROUNDS: return rounds;
    case k.STAT_SYSCALLS_DENIED: return st.deniedCalls;
    case k.STAT_MSG_DESCRIPTORS_IN_USE: return <u64>descriptors.inUse;
    case k.STAT_MSG_SLOTS_IN_USE: return <u64>slots.inUse;
    case k.STAT_MSG_SLOTS_EXHAUSTED: return <u64>slots.exhausted;
    case k.STAT_CONSOLE_DROPPED: return consoleDropped;
    case k.STAT_NET_FRAMES_DROPPED: return framesDropped;
    case k.STAT_CLIENT_REQUESTS_IN_FLIGHT: return <u64>clientTokens.inUse;
    case k.STAT_RESERVED_BYTES: return reservedTotal();
    case k.STAT_INPUTS_WITHOUT_TOKEN: return st.inputsDropped;
    case k.STAT_LOGICAL_TIME_NS: return st.appliedTimeNs;
    case k.STAT_SERVICE_FAULTS: return serviceTotal(false);
    case k.STAT_SERVICE_RESTARTS: return serviceTotal(true);
    case k.STAT_SNAPSHOTS_WRITTEN: return snap.written;
    case k.STAT_SNAPSHOT_ENTRIES: return snap.newestEntries;
    case k.STAT_SERVICE_REQUESTS_IN_FLIGHT: return <u64>serviceTokens.inUse;
    case k.STAT_TIMERS_ACTIVE: return <u64>timersActive();
    case k.STAT_INPUTS_STAGED: return <u64>stagedInputs;
    case k.STAT_NET_ERROR_FRAMES_IN_USE: return <u64>netErrorFramesInUse();
    case k.STAT_READS_ANSWERED: return readsAnswered;
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
