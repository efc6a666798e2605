// An event gatherer: the items a service emits for one request, gathered
// and emitted in chunks the kernel takes once the request is complete
// (services/sdk/ABI.md "emit"; needs capability "emit"). A chunk is at most
// EVENT_ITEMS_MAX items and the kernel's syscall area, message_bytes_max
// bytes, which the service does not know: a chunk the kernel finds too large
// is halved until it fits (one item always does: MESSAGE_BYTES_MIN is 256),
// and that size kept. The same image chunks the same on replay; and the
// kernel numbers items, not records, so event ids never depend on chunking.

import { E_TOO_LARGE, OK, emit } from "./qenex";
import { EVENT_ITEMS_MAX } from "../../hal/devices/events";
import { MESSAGE_BYTES_MAX } from "../../hal/limits";

export class EventGatherer {
  private buffer: usize;
  private held: u32 = 0;
  private chunk: u32;
  private chunkMax: u32;

  constructor(private type: u32, private itemBytes: u32) {
    assert(itemBytes >= 1 && itemBytes <= 256, "an item a record of the smallest message holds");
    this.chunkMax = min(<u32>MESSAGE_BYTES_MAX / itemBytes, <u32>EVENT_ITEMS_MAX);
    this.chunk = this.chunkMax;
    this.buffer = heap.alloc(<usize>this.chunkMax * itemBytes);
  }

  /** The item at `p` (itemBytes) is an event of the request in flight: emitted by flush(), or now when a chunk is full. */
  add(p: usize): void {
    assert(this.held < this.chunkMax, "room for the item");
    memory.copy(this.buffer + <usize>this.held * this.itemBytes, p, this.itemBytes);
    this.held++;
    if (this.held == this.chunkMax) this.flush();
  }

  /** Emits the items gathered, in chunks the kernel takes. */
  flush(): void {
    assert(this.held <= this.chunkMax && this.chunk >= 1 && this.chunk <= this.chunkMax, "at most a chunk gathered");
    let at: u32 = 0;
    while (at < this.held) {
      const n = min(this.chunk, this.held - at);
      const r = emit(this.type, n, this.buffer + <usize>at * this.itemBytes, n * this.itemBytes);
      if (r == E_TOO_LARGE && n > 1) { this.chunk = n >> 1; continue; }
      // Denied (the manifest grants no "emit"): the kernel counts and reports it; once a request is enough.
      if (r != OK) break;
      at += n;
    }
    this.held = 0;
  }
}
