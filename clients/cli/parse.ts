/** Parsers of option values: a bad value is a usage error that names what is wanted (commander reports it, exit status 2). */
import { InvalidArgumentError } from 'commander';
import { MAX_YEAR, MIN_YEAR } from '../../shared/metrics';

const KiB = 1024;
export const MiB = 1024 * KiB;
/** Small enough for a test to upload a few MB in many blocks; below this an upload is mostly round trips. */
const MIN_BLOCK = 16 * KiB;
/** Blocks in flight are held in memory: a few of these at most. */
const MAX_BLOCK = 100 * MiB;

export function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`not an http or https URL: ${text}`);
  // The key goes in a header: a URL's user, query or fragment would be sent, or dropped, unseen.
  if (url.username || url.password || url.search || url.hash) {
    throw new InvalidArgumentError('the base URL alone, with no user, query (?code=: use --key) or #fragment');
  }
  return url.href.replace(/\/+$/, '');
}

const UNIT: Record<string, number> = { '': 1, k: KiB, m: MiB };

/** Bytes, or with a K or M suffix (binary units): 65536, 64K, 8M, 8MiB. */
export function parseBlockSize(text: string): number {
  const match = /^(\d+)\s*(k|m)?(?:i?b)?$/i.exec(text.trim());
  const bytes = match ? Number(match[1]) * UNIT[(match[2] ?? '').toLowerCase()] : NaN;
  if (!(bytes >= MIN_BLOCK && bytes <= MAX_BLOCK)) throw new InvalidArgumentError('a block size from 16K to 100M, like 8M or 262144');
  return bytes;
}

/** Seconds (fractions allowed) as milliseconds. */
export function parseSeconds(text: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= 0.1 && seconds <= 3600)) throw new InvalidArgumentError('a number of seconds from 0.1 to 3600');
  return Math.round(seconds * 1000);
}

export function parseYear(text: string): number {
  const year = /^\d{4}$/.test(text) ? Number(text) : NaN;
  if (!(year >= MIN_YEAR && year <= MAX_YEAR)) throw new InvalidArgumentError(`a year from ${MIN_YEAR} to ${MAX_YEAR}`);
  return year;
}

export function parseLimit(text: string): number {
  const limit = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(limit >= 1 && limit <= 1000)) throw new InvalidArgumentError('a whole number from 1 to 1000');
  return limit;
}

/** An Azure storage account name: 3 to 24 lower-case letters and digits. */
export function parseAccount(text: string): string {
  if (!/^[a-z0-9]{3,24}$/.test(text)) throw new InvalidArgumentError('a storage account name: 3 to 24 lower-case letters and digits');
  return text;
}
