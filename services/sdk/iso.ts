// ISO code shapes the services' records carry (services/payments/protocol.ts
// TX record, services/compliance/protocol.ts check record): written once.

/** Whether the two bytes at `p` are an ISO 3166 alpha-2 country (two upper-case ASCII letters) or none (two zeros). */
export function countryValid(p: usize): bool {
  assert(p != 0, "a country slot");
  const a = load<u8>(p);
  const b = load<u8>(p + 1);
  return (a == 0 && b == 0) || (a >= 0x41 && a <= 0x5a && b >= 0x41 && b <= 0x5a);
}
