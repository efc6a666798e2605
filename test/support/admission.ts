// test/support/admission.ts: stand-ins for the kernel's admission
// (hal/abi.ts "admission") in tests of the host's front ends that run without
// a kernel. The real decision is tested against the kernel itself
// (test/integration/admission.test.ts).

import * as gw from '../../services/gateway/protocol.ts';
import type { AdmissionAnswer } from '../../host/base/kernel.ts';
import type { Admit } from '../../host/gateway/gateway-wire.ts';

const ADMITTED: AdmissionAnswer = { status: 200, error: gw.GW_OK, retryAfter: 0, keyId: 1, role: gw.ROLE_ADMIN, message: '' };

/**
 * Admits every request, as the kernel does for a valid admin key; a body the
 * host could not read (GW_F_BODY_REFUSED) gets the kernel's 400, so the
 * host's own verdict on the body is what the client sees. `asked` records
 * each question (the header's route and auth, and the mode).
 */
export function admitAll(asked: { route: number; auth: number; mode: number }[] = []): Admit {
  return (header, mode) => {
    asked.push({ route: header[1], auth: header[2], mode });
    if ((header[3] & gw.GW_F_BODY_REFUSED) !== 0) {
      return { ...ADMITTED, status: 400, error: gw.GW_E_BODY_REFUSED, message: 'the request body was refused' };
    }
    return ADMITTED;
  };
}

/** Refuses every request with `answer` (a 401 by default). */
export function refuseAll(answer: Partial<AdmissionAnswer> = {}): Admit {
  return () => ({ status: 401, error: gw.GW_E_UNAUTHENTICATED, retryAfter: 0, keyId: 0, role: 0, message: 'this route needs Authorization: Bearer <key>', ...answer });
}
