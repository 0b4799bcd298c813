import { InvalidArgumentError } from '../errors.ts';

/** lvm(8) VALID NAMES: the only characters allowed in VG and LV names. */
const NAME_CHARS = /^[A-Za-z0-9+_.-]+$/;

/**
 * Substrings LVM keeps for its internal sub-LVs (lvm(8) VALID NAMES, plus the cache/integrity
 * ones newer releases added); an LV whose name contains one is refused by lvcreate.
 */
const RESERVED_SUBSTRINGS = [
  '_cdata', '_cmeta', '_corig', '_cpool', '_cvol', '_imeta', '_iorig', '_mimage', '_mlog',
  '_pmspare', '_rimage', '_rmeta', '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig',
] as const;

/** lvm2's apply_lvname_restrictions refuses names that start with these, not only equal them. */
const RESERVED_PREFIXES = ['snapshot', 'pvmove'] as const;

/**
 * The device-mapper name is "<vg>-<lv>" with every '-' doubled, and DM_NAME_LEN is 128 bytes
 * including the NUL; a name that does not fit makes activation fail after lvcreate succeeded.
 */
const MAX_DM_NAME_LENGTH = 127;

/** Throws InvalidArgumentError unless `name` is a VG name LVM accepts. */
export function validateVgName(name: string): void {
  validateCommon(name, 'volume group');
}

/** Throws InvalidArgumentError unless `name` is an LV name LVM accepts for a new LV. */
export function validateLvName(name: string): void {
  validateCommon(name, 'logical volume');
  for (const prefix of RESERVED_PREFIXES) {
    if (name.startsWith(prefix)) throw new InvalidArgumentError(`logical volume name ${JSON.stringify(name)} starts with the reserved word "${prefix}"`);
  }
  for (const reserved of RESERVED_SUBSTRINGS) {
    if (name.includes(reserved)) throw new InvalidArgumentError(`logical volume name ${JSON.stringify(name)} contains the reserved string "${reserved}"`);
  }
}

/** Throws InvalidArgumentError unless the device-mapper name of vg/lv fits the kernel's limit. */
export function validateDmNameLength(vgName: string, lvName: string): void {
  const length = buildDmName(vgName, lvName).length;
  if (length > MAX_DM_NAME_LENGTH) {
    throw new InvalidArgumentError(`device-mapper name for ${vgName}/${lvName} would be ${length} characters; the kernel allows ${MAX_DM_NAME_LENGTH}`);
  }
}

/** The device-mapper name LVM gives vg/lv (the /dev/mapper entry). */
export function buildDmName(vgName: string, lvName: string): string {
  return `${vgName.replaceAll('-', '--')}-${lvName.replaceAll('-', '--')}`;
}

function validateCommon(name: string, what: string): void {
  if (name.length === 0) throw new InvalidArgumentError(`${what} name must not be empty`);
  if (name.length > MAX_DM_NAME_LENGTH) throw new InvalidArgumentError(`${what} name is ${name.length} characters; at most ${MAX_DM_NAME_LENGTH} are possible`);
  if (!NAME_CHARS.test(name)) throw new InvalidArgumentError(`${what} name ${JSON.stringify(name)} may only contain A-Z a-z 0-9 + _ . -`);
  if (name.startsWith('-')) throw new InvalidArgumentError(`${what} name ${JSON.stringify(name)} must not start with '-'`);
  if (name === '.' || name === '..') throw new InvalidArgumentError(`${what} name ${JSON.stringify(name)} is reserved`);
}
