import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.ts';

/**
 * Checks of the names that go into a certificate. Each returns the value unchanged or throws
 * InvalidArgumentError naming the value and the rule it breaks.
 */

/** X.520's upper bound for a commonName. */
const MAX_COMMON_NAME = 64;
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function checkCommonName(name: string): string {
  if (name.length === 0 || name.length > MAX_COMMON_NAME) {
    throw new InvalidArgumentError(`common name ${JSON.stringify(name)} must be 1 to ${MAX_COMMON_NAME} characters`);
  }
  // Printable characters only: a name with control characters cannot be shown or compared safely.
  if (/[\p{Cc}\p{Cf}]/u.test(name) || name.trim() !== name) {
    throw new InvalidArgumentError(`common name ${JSON.stringify(name)} has control characters or leading/trailing spaces`);
  }
  return name;
}

/** A host name as TLS compares it: dot-separated LDH labels, at most 253 characters; no wildcards. */
export function checkDnsName(name: string): string {
  const labels = name.split('.');
  if (name.length === 0 || name.length > 253 || !labels.every((l) => DNS_LABEL.test(l))) {
    throw new InvalidArgumentError(
      `DNS name ${JSON.stringify(name)} is not a host name (letters, digits and '-' in dot-separated labels of 1-63 characters)`,
    );
  }
  return name;
}

export function checkIpAddress(address: string): string {
  if (isIP(address) === 0) throw new InvalidArgumentError(`IP address ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
  return address;
}

/** Whole days, from 1 to 100 years. */
export function checkValidDays(days: number, what: string): number {
  if (!Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new InvalidArgumentError(`${what} validity must be a whole number of days from 1 to 36500, not ${days}`);
  }
  return days;
}
