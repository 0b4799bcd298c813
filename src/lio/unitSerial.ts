import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';

/**
 * Unit serials are lowercase UUIDs. LIO derives the LUN's NAA WWN (VPD page 0x83, the initiator's
 * `wwid`) from the first 25 hex digits of the serial (target_core_spc.c,
 * spc_gen_naa_6h_vendor_specific), so a serial must carry that many distinct hex digits: a UUID does.
 */
const UNIT_SERIAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isValidUnitSerial(serial: string): boolean {
  return UNIT_SERIAL.test(serial);
}

export function validateUnitSerial(serial: string): string {
  if (!isValidUnitSerial(serial)) {
    throw new InvalidArgumentError(`unit serial ${JSON.stringify(serial)} must be a lowercase UUID (8-4-4-4-12 hex digits)`);
  }
  return serial;
}

/**
 * A stable unit serial for a volume: the same volume id always yields the same serial, so an
 * export rebuilt after a storage-node reboot presents the same identity (docs/field-notes.md 4.1, 4.4).
 * Format: an RFC 9562 version 8 (custom) UUID built from SHA-256 of the volume id.
 */
export function buildUnitSerial(volumeId: string): string {
  if (volumeId.length === 0) throw new InvalidArgumentError('a unit serial needs a non-empty volume id');
  const bytes = createHash('sha256').update(`vbs-csi/unit-serial/${volumeId}`, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Reads the serial out of a backstore's `wwn/vpd_unit_serial`, which the kernel shows as
 * "T10 VPD Unit Serial Number: <serial>\n" (empty after the serial on a fresh iblock backstore).
 */
export function parseVpdUnitSerialAttr(text: string): string {
  const match = /^T10 VPD Unit Serial Number:[ \t]*(.*)$/m.exec(text);
  return (match ? match[1]! : text).trim();
}
