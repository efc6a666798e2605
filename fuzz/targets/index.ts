// fuzz/targets/index.ts: every fuzz target, in the order `make fuzz` runs them.

import type { FuzzTarget } from '../target.ts';
import { jsonTarget } from './json.ts';
import { httpTarget } from './http.ts';
import { imageTarget } from './image.ts';
import { manifestTarget } from './manifest.ts';
import { ledgerTarget } from './ledger.ts';
import { framesTarget } from './frames.ts';
import { logTarget } from './log.ts';
import { iso20022Target } from './iso20022.ts';
import { mt103Target } from './mt103.ts';

export const TARGETS: readonly FuzzTarget[] = [jsonTarget, httpTarget, framesTarget, imageTarget, manifestTarget, logTarget, iso20022Target, mt103Target, ledgerTarget];
