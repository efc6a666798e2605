// host/fix/values.ts: the FIX 4.4 data types as format checks, and exact
// decimals.
//
// Per the FIX 4.4 specification (volume 1, "Data types"):
//   - int: optional '-', digits, leading zeros allowed ('00023' = 23);
//     Length, SeqNum, NumInGroup: non-negative (no sign) — 0 is used in
//     practice (EndSeqNo=0 means "to the end", NoPartyIDs=0); TagNum:
//     positive, no leading zeros; DayOfMonth: 1 to 31;
//   - float (Qty, Price, PriceOffset, Amt, Percentage): optional '-', digits
//     with an optional '.', at least one digit, no exponent, no '+';
//   - char: one printable character; Boolean: 'Y' or 'N';
//   - String, MultipleValueString (space-separated), Exchange: any bytes but
//     SOH, at least one; Currency: three letters (ISO 4217); Country: two
//     letters (ISO 3166);
//   - UTCTimestamp, UTCTimeOnly, UTCDateOnly, LocalMktDate, MonthYear: see
//     ./time.ts; data: any bytes, counted by its Length field.
// Decimals stay strings from the wire to the application: decimalToScaled
// turns one into an integer at a given scale exactly, or refuses it, and
// scaledToDecimal turns it back. No float ever holds a price or a quantity.

import type { FixType } from './dictionary.ts';
import { FixError } from './errors.ts';
import { FIX_LIMITS } from './limits.ts';
import { isDate, isMonthYear, isUtcTimeOnly, isUtcTimestamp } from './time.ts';

const INT = /^-?[0-9]+$/;
const UNSIGNED = /^[0-9]+$/;
const TAGNUM = /^[1-9][0-9]*$/;
// One way to match any string (no backtracking blow-up on 64 KiB of digits).
const DECIMAL = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;
const CURRENCY = /^[A-Z]{3}$/;
const COUNTRY = /^[A-Z]{2}$/;

/** Whether `value` (non-empty, without SOH) is written as the FIX 4.4 type says. */
export function isValidFormat(type: FixType, value: string): boolean {
  switch (type) {
    case 'INT': return INT.test(value);
    case 'LENGTH': case 'SEQNUM': case 'NUMINGROUP': return UNSIGNED.test(value);
    case 'TAGNUM': return TAGNUM.test(value);
    case 'DAYOFMONTH': return UNSIGNED.test(value) && value.length <= 2 && Number(value) >= 1 && Number(value) <= 31;
    case 'FLOAT': case 'QTY': case 'PRICE': case 'PRICEOFFSET': case 'AMT': case 'PERCENTAGE': return DECIMAL.test(value);
    case 'CHAR': return value.length === 1 && value > ' ' && value <= '~';
    case 'BOOLEAN': return value === 'Y' || value === 'N';
    case 'CURRENCY': return CURRENCY.test(value);
    case 'COUNTRY': return COUNTRY.test(value);
    case 'UTCTIMESTAMP': return isUtcTimestamp(value);
    case 'UTCTIMEONLY': return isUtcTimeOnly(value);
    case 'UTCDATEONLY': case 'LOCALMKTDATE': return isDate(value);
    case 'MONTHYEAR': return isMonthYear(value);
    case 'MULTIPLEVALUESTRING': return value.split(' ').every((v) => v !== '');
    case 'STRING': case 'EXCHANGE': case 'DATA': return value.length > 0;
  }
}

/** Whether `value` is one of the field's enumerated values (each one, for a MultipleValueString). */
export function isEnumValue(type: FixType, enums: ReadonlyMap<string, string>, value: string): boolean {
  if (type === 'MULTIPLEVALUESTRING') return value.split(' ').every((v) => enums.has(v));
  return enums.has(value);
}

/** Whether a FIX type is a decimal (kept as an exact string). */
export function isDecimalType(type: FixType): boolean {
  return type === 'FLOAT' || type === 'QTY' || type === 'PRICE' || type === 'PRICEOFFSET' || type === 'AMT' || type === 'PERCENTAGE';
}

/**
 * The integer `value` × 10^scale of a FIX decimal string, exactly: '12.345'
 * at scale 3 is 12345n, '1.5' at scale 0 is refused, '1.50' at scale 1 is
 * 15n (trailing zeros beyond the scale are fine). FixError for anything that
 * is not a FIX decimal or does not fit the scale.
 */
export function decimalToScaled(value: string, scale: number): bigint {
  if (!Number.isSafeInteger(scale) || scale < 0 || scale > FIX_LIMITS.decimalDigits) throw new FixError(`scale ${scale} is not 0 to ${FIX_LIMITS.decimalDigits}`);
  if (!DECIMAL.test(value)) throw new FixError(`not a FIX decimal: ${JSON.stringify(value)}`);
  const negative = value.startsWith('-');
  const [whole = '', fraction = ''] = (negative ? value.slice(1) : value).split('.');
  const kept = fraction.slice(0, scale).padEnd(scale, '0');
  if (/[^0]/.test(fraction.slice(scale))) throw new FixError(`${value} has more than ${scale} decimal places`);
  const digits = (whole + kept).replace(/^0+(?=.)/, '');
  if (digits.length > FIX_LIMITS.decimalDigits) throw new FixError(`${value} at scale ${scale} has more than ${FIX_LIMITS.decimalDigits} digits`);
  const n = BigInt(digits === '' ? '0' : digits);
  return negative ? -n : n;
}

/** The FIX decimal string of `n` / 10^scale, with exactly `scale` decimal places (none for scale 0). */
export function scaledToDecimal(n: bigint, scale: number): string {
  if (!Number.isSafeInteger(scale) || scale < 0 || scale > FIX_LIMITS.decimalDigits) throw new FixError(`scale ${scale} is not 0 to ${FIX_LIMITS.decimalDigits}`);
  const sign = n < 0n ? '-' : '';
  const digits = (n < 0n ? -n : n).toString().padStart(scale + 1, '0');
  return scale === 0 ? sign + digits : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
