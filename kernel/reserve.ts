// kernel/reserve.ts: every reservation of the boot, in one place: the
// pools, rings and buffers sized from the manifest's configuration, made
// before the allocator is sealed (kernel/base/mem.ts). Nothing is reserved
// after it: what a serving kernel uses was set aside here.

import { config, bootArea, admissionAuthority } from "./boot";
import { isSealed } from "./base/mem";
import { admissionInit } from "./admission";
import { ingressInit } from "./ingress";
import { NO_SERVICE, serviceCount } from "./services";
import { messagesInit } from "./msg";
import { timersInit } from "./timers";
import { tokensInit } from "./tokens";
import { syscallsInit } from "./syscalls";
import { liveInit } from "./liveload";
import * as log from "./log";
import * as rec from "./recovery";
import { blockInit } from "../drivers/block/block";
import { entropyInit } from "../drivers/entropy/entropy";
import { netInit } from "../drivers/net/net";
import { eventsInit } from "../drivers/events/events";
import { storageInit } from "./storage";

export function reserveAll(): bool {
  assert(!isSealed(), "reserveAll: reservations happen before the seal");
  const entryMax = config.messageBytesMax + log.ENTRY_HEADER_BYTES;
  // parseManifest made sure of it: recovery's window holds any entry.
  assert(<u64>entryMax + 8 <= <u64>config.batchBytesMax, "reserveAll: an entry fits a batch");
  const descriptorCount = config.batchBytesMax / log.ENTRY_HEADER_BYTES + config.messageSlots + config.timersMax + serviceCount + 16; // serviceCount: a batch's checkpoint messages (kernel/storage.ts)
  return messagesInit(descriptorCount, config.messageSlots, config.messageBytesMax)
    && timersInit(config.timersMax)
    // A service token keeps its slot + 1 in 16 bits: at most 65535 slots.
    && tokensInit(config.requestsInFlightMax, config.messageSlots < 65535 ? config.messageSlots : 65535)
    && log.logInit(config.batchBytesMax)
    && rec.recoveryInit(config.batchBytesMax, entryMax, bootArea)
    && syscallsInit(config.messageBytesMax, config.queueDepth)
    && blockInit() && entropyInit() && netInit(config.messageBytesMax)
    && eventsInit(config.messageBytesMax)
    && liveInit()
    && storageInit()
    && (admissionAuthority == NO_SERVICE || (admissionInit() && ingressInit(config.messageBytesMax)));
}
