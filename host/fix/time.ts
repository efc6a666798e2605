// host/fix/time.ts: FIX 4.4 dates and times, checked and converted exactly.
//
// UTCTimestamp is YYYYMMDD-HH:MM:SS or YYYYMMDD-HH:MM:SS.sss (FIX 4.4 writes
// milliseconds; the converters also take 6 and 9 digits, as later FIX
// versions do). Seconds may be 60 in a leap second: the format check takes
// it, the converters refuse it (an epoch count has no place for it).
// Conversions are integer arithmetic on days since 1970-01-01 (the proleptic
// Gregorian calendar, years 0000 to 9999), never Date: Date.UTC maps years
// below 100 into the 1900s, and a float never carries a nanosecond count.

import { FixError } from './errors.ts';
import { FIX_LIMITS } from './limits.ts';

const NS_PER_SECOND = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400n;

function digitsAt(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeapYear(y) ? 29 : 28) : [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

/** Year, month, day of 'YYYYMMDD' at `at`, or undefined when it is not a date. */
function dateAt(s: string, at: number): { y: number; m: number; d: number } | undefined {
  const y = digitsAt(s, at, 4);
  const m = digitsAt(s, at + 4, 2);
  const d = digitsAt(s, at + 6, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return undefined;
  return { y, m, d };
}

/** Seconds of the day and fraction digits of 'HH:MM:SS[.f...]' from `at` to the end, or undefined. */
function timeAt(s: string, at: number, fractions: readonly number[]): { seconds: number; leap: boolean; fraction: string } | undefined {
  if (s.charCodeAt(at + 2) !== 58 || s.charCodeAt(at + 5) !== 58) return undefined; // ':'
  const h = digitsAt(s, at, 2);
  const mi = digitsAt(s, at + 3, 2);
  const se = digitsAt(s, at + 6, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return undefined;
  let fraction = '';
  if (s.length > at + 8) {
    if (s.charCodeAt(at + 8) !== 46) return undefined; // '.'
    fraction = s.slice(at + 9);
    if (digitsAt(fraction, 0, fraction.length) < 0) return undefined;
  }
  if (!fractions.includes(fraction.length) || s.length !== at + 8 + (fraction.length > 0 ? fraction.length + 1 : 0)) return undefined;
  return { seconds: h * 3600 + mi * 60 + Math.min(se, 59), leap: se === 60, fraction };
}

/** Whether `s` is a FIX 4.4 UTCTimestamp. */
export function isUtcTimestamp(s: string, fractions: readonly number[] = FIX_LIMITS.timestampFractionDigits): boolean {
  return s.charCodeAt(8) === 45 && dateAt(s, 0) !== undefined && timeAt(s, 9, fractions) !== undefined;
}

/** Whether `s` is a FIX 4.4 UTCTimeOnly (HH:MM:SS[.sss]). */
export function isUtcTimeOnly(s: string): boolean {
  return timeAt(s, 0, FIX_LIMITS.timestampFractionDigits) !== undefined;
}

/** Whether `s` is YYYYMMDD (UTCDateOnly, LocalMktDate). */
export function isDate(s: string): boolean {
  return s.length === 8 && dateAt(s, 0) !== undefined;
}

/** Whether `s` is a MonthYear: YYYYMM, YYYYMMDD or YYYYMMwN (week 1 to 5). */
export function isMonthYear(s: string): boolean {
  const y = digitsAt(s, 0, 4);
  const m = digitsAt(s, 4, 2);
  if (y < 0 || m < 1 || m > 12) return false;
  if (s.length === 6) return true;
  if (s.length === 8 && s[6] === 'w') return /^[1-5]$/.test(s[7]!);
  return s.length === 8 && dateAt(s, 0) !== undefined;
}

/** Days from 1970-01-01 to a civil date (H. Hinnant's days_from_civil, in integers). */
function daysFromCivil(y0: number, m: number, d: number): number {
  const y = m <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The civil date of a day count from 1970-01-01 (H. Hinnant's civil_from_days). */
function civilFromDays(z0: number): { y: number; m: number; d: number } {
  const z = z0 + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

const ALL_FRACTIONS = [0, 3, 6, 9];
const EARLIEST_NS = BigInt(daysFromCivil(0, 1, 1)) * SECONDS_PER_DAY * NS_PER_SECOND;
const LATEST_NS = BigInt(daysFromCivil(10000, 1, 1)) * SECONDS_PER_DAY * NS_PER_SECOND;

/** Nanoseconds since the epoch of a UTCTimestamp with 0, 3, 6 or 9 fraction digits; FixError when it is not one or is a leap second. */
export function parseUtcTimestamp(s: string): bigint {
  const date = s.charCodeAt(8) === 45 ? dateAt(s, 0) : undefined;
  const time = timeAt(s, 9, ALL_FRACTIONS);
  if (date === undefined || time === undefined) throw new FixError(`not a UTCTimestamp: ${JSON.stringify(s)}`);
  if (time.leap) throw new FixError(`UTCTimestamp ${s} is a leap second, which has no epoch count`);
  const seconds = BigInt(daysFromCivil(date.y, date.m, date.d)) * SECONDS_PER_DAY + BigInt(time.seconds);
  return seconds * NS_PER_SECOND + BigInt(time.fraction.padEnd(9, '0'));
}

/** Milliseconds since the epoch of a UTCTimestamp; FixError when it has a nonzero part below a millisecond. */
export function parseUtcTimestampMs(s: string): number {
  const ns = parseUtcTimestamp(s);
  if (ns % 1_000_000n !== 0n) throw new FixError(`UTCTimestamp ${s} is not a whole number of milliseconds`);
  return Number(ns / 1_000_000n);
}

/** A UTCTimestamp of nanoseconds since the epoch with `digits` fraction digits (0, 3, 6, 9); FixError when that would drop a nonzero part. */
export function formatUtcTimestamp(ns: bigint, digits = 3): string {
  if (!ALL_FRACTIONS.includes(digits)) throw new FixError(`a UTCTimestamp has 0, 3, 6 or 9 fraction digits, not ${digits}`);
  if (ns < EARLIEST_NS || ns >= LATEST_NS) throw new FixError(`${ns} ns is outside the years 0000 to 9999`);
  const unit = 10n ** BigInt(9 - digits);
  if (ns % unit !== 0n) throw new FixError(`${ns} ns does not fit ${digits} fraction digits exactly`);
  const perDay = SECONDS_PER_DAY * NS_PER_SECOND;
  let days = ns / perDay;
  let rest = ns % perDay;
  if (rest < 0n) { days -= 1n; rest += perDay; }
  const { y, m, d } = civilFromDays(Number(days));
  const secs = Number(rest / NS_PER_SECOND);
  const two = (n: number): string => String(n).padStart(2, '0');
  const base = `${String(y).padStart(4, '0')}${two(m)}${two(d)}-${two(Math.floor(secs / 3600))}:${two(Math.floor(secs / 60) % 60)}:${two(secs % 60)}`;
  return digits === 0 ? base : `${base}.${(rest % NS_PER_SECOND).toString().padStart(9, '0').slice(0, digits)}`;
}

/** A UTCTimestamp with milliseconds of a millisecond count since the epoch (an integer). */
export function formatUtcTimestampMs(ms: number): string {
  if (!Number.isSafeInteger(ms)) throw new FixError(`${ms} is not an integer millisecond count`);
  return formatUtcTimestamp(BigInt(ms) * 1_000_000n, 3);
}
