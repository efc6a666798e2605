// kernel/sched.ts: the deterministic scheduler.
//
// Every service belongs to a priority class (0 first .. 7 last). A service
// with messages waits in its class's ready queue, FIFO by the moment it
// became ready. A round visits the classes in order; each service that was
// ready when its class's turn began gets up to `budget` messages, then goes to
// the back of its queue if it still has work. So priority orders the work
// inside a round, and the budget keeps one busy service from starving the
// rest: every ready service is served in every round.
//
// The scheduler only picks; kernel/main.ts turns a pick into ACT_CALL.

import { PRIORITY_CLASSES } from "./base/constants";
import { Service, service, serviceCount, NO_SERVICE } from "./services";
import { inboxPop } from "./msg";
import { POOL_EMPTY } from "./base/mem";

const classHead = new StaticArray<u32>(PRIORITY_CLASSES);
const classTail = new StaticArray<u32>(PRIORITY_CLASSES);
const classLen = new StaticArray<u32>(PRIORITY_CLASSES);

let roundClass: u32 = 0; // class being served in the current round
let roundLeft: u32 = 0; // services of roundClass still to serve this round
let current: u32 = NO_SERVICE; // service being served
let currentGiven: u32 = 0; // messages given to it in this turn
export let rounds: u64 = 0;
export let readyServices: u32 = 0;

export function schedInit(): void {
  for (let c: u32 = 0; c < PRIORITY_CLASSES; c++) {
    unchecked(classHead[c] = NO_SERVICE);
    unchecked(classTail[c] = NO_SERVICE);
    unchecked(classLen[c] = 0);
  }
  roundClass = PRIORITY_CLASSES; // forces a new round at the first pick
  roundLeft = 0;
  current = NO_SERVICE;
  assert(readyServices == 0, "schedInit: no service is ready before the scheduler starts");
}

function enqueueReady(s: Service): void {
  const c = s.priority;
  assert(c < PRIORITY_CLASSES && !s.ready, "enqueueReady: bad priority, or the service is queued already");
  assert(s.inboxLen > 0, "enqueueReady: a ready service has messages");
  s.readyNext = NO_SERVICE;
  if (unchecked(classLen[c]) == 0) unchecked(classHead[c] = s.index);
  else service(unchecked(classTail[c])).readyNext = s.index;
  unchecked(classTail[c] = s.index);
  unchecked(classLen[c] += 1);
  s.ready = true;
  readyServices++;
  assert(readyServices <= serviceCount, "enqueueReady: more ready services than services");
}

function dequeueReady(c: u32): Service {
  assert(unchecked(classLen[c]) > 0, "dequeue from empty class");
  const s = service(unchecked(classHead[c]));
  assert(s.ready && s.priority == c, "dequeueReady: the head is a ready service of this class");
  unchecked(classHead[c] = s.readyNext);
  unchecked(classLen[c] -= 1);
  if (unchecked(classLen[c]) == 0) unchecked(classTail[c] = NO_SERVICE);
  s.readyNext = NO_SERVICE;
  s.ready = false;
  assert(readyServices > 0, "dequeueReady: the ready count went below zero");
  readyServices--;
  return s;
}

// Called after a message was pushed to s's inbox.
export function schedWake(s: Service): void {
  assert(s.inboxLen > 0, "schedWake: wake only after a message was queued");
  if (!s.ready && s.index != current) enqueueReady(s);
}

export function schedIdle(): bool {
  assert(readyServices <= serviceCount, "schedIdle: more ready services than services");
  return readyServices == 0 && (current == NO_SERVICE || service(current).inboxLen == 0);
}

// Ends the current service's turn: back of its queue if it has more work.
function endTurn(): void {
  if (current == NO_SERVICE) return;
  const s = service(current);
  assert(!s.ready, "endTurn: the service being served is not also queued");
  current = NO_SERVICE;
  if (s.inboxLen > 0) enqueueReady(s);
}

// The next message to deliver, as a descriptor index, or POOL_EMPTY when
// every inbox is empty. Bounded: at most two passes over the classes.
export function schedPick(): u32 {
  if (current != NO_SERVICE) {
    const s = service(current);
    if (s.inboxLen > 0 && currentGiven < s.budget) {
      currentGiven++;
      assert(currentGiven <= s.budget, "schedPick: a turn never exceeds the budget");
      return inboxPop(s);
    }
    endTurn();
  }
  for (let step: u32 = 0; step < 2 * PRIORITY_CLASSES + 2; step++) {
    if (roundLeft == 0) {
      roundClass++;
      if (roundClass >= PRIORITY_CLASSES) {
        if (readyServices == 0) return POOL_EMPTY;
        roundClass = 0;
        rounds++;
      }
      roundLeft = unchecked(classLen[roundClass]);
      continue;
    }
    assert(roundClass < PRIORITY_CLASSES && roundLeft <= unchecked(classLen[roundClass]), "schedPick: a round serves at most the services queued in its class");
    roundLeft--;
    const s = dequeueReady(roundClass);
    current = s.index;
    currentGiven = 1;
    return inboxPop(s);
  }
  return POOL_EMPTY;
}

// The service whose message was picked last (the syscall caller).
export function schedCurrent(): u32 {
  assert(current == NO_SERVICE || current < serviceCount, "schedCurrent: not a service in the table");
  return current;
}
