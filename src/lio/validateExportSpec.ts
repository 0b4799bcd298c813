import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.ts';
import { normalizeIqn } from './iqn.ts';
import type { Portal } from './lioPaths.ts';
import type { ChapCredentials } from '../chap/ChapCredentials.ts';
import type { AclSpec, ExportSpec } from './types.ts';
import { validateUnitSerial } from './unitSerial.ts';

/** Backstore names: an LVM-style name without '/', not starting with '.' or '-'. */
const BACKSTORE_NAME = /^[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,127}$/;
/**
 * A device path under /dev. The iblock `control` parser splits options on ',' and newlines,
 * so neither may appear in it.
 */
const DEVICE_PATH = /^\/dev\/[A-Za-z0-9_.+:@=-]+(?:\/[A-Za-z0-9_.+:@=-]+)*$/;
/** CHAP names and secrets: printable ASCII without spaces; the kernel keeps every byte, newlines included. */
const CHAP_TEXT = /^[\x21-\x7e]{1,255}$/;

export function validateBackstoreName(name: string): string {
  if (!BACKSTORE_NAME.test(name)) {
    throw new InvalidArgumentError(`backstore name ${JSON.stringify(name)} must be 1-128 characters of A-Z a-z 0-9 _ . + - and not start with '.' or '-'`);
  }
  return name;
}

export function validateDevicePath(path: string): string {
  if (!DEVICE_PATH.test(path) || path.split('/').some((s) => s === '.' || s === '..')) {
    throw new InvalidArgumentError(`device path ${JSON.stringify(path)} must be an absolute path under /dev without ',', spaces or '..'`);
  }
  return path;
}

export function validatePortal(portal: Portal): Portal {
  if (isIP(portal.ip) === 0) throw new InvalidArgumentError(`portal address ${JSON.stringify(portal.ip)} is not an IP address`);
  if (!Number.isInteger(portal.port) || portal.port < 1 || portal.port > 65535) {
    throw new InvalidArgumentError(`portal port ${portal.port} must be an integer from 1 to 65535`);
  }
  return { ip: portal.ip, port: portal.port };
}

export function validateChap(chap: ChapCredentials, initiatorIqn: string): ChapCredentials {
  const bad = (field: string) =>
    new InvalidArgumentError(`CHAP ${field} for ${initiatorIqn} must be 1-255 printable ASCII characters without spaces`);
  if (!CHAP_TEXT.test(chap.username) || chap.username === 'NULL') throw bad('userid');
  if (!CHAP_TEXT.test(chap.password) || chap.password === 'NULL') throw bad('password');
  if (chap.mutual === undefined) return { username: chap.username, password: chap.password };
  if (!CHAP_TEXT.test(chap.mutual.username) || chap.mutual.username === 'NULL') throw bad('mutual userid');
  if (!CHAP_TEXT.test(chap.mutual.password) || chap.mutual.password === 'NULL') throw bad('mutual password');
  // open-iscsi refuses mutual CHAP when both directions share a secret (docs/field-notes.md 1.14).
  if (chap.mutual.password === chap.password) throw new InvalidArgumentError(`mutual CHAP for ${initiatorIqn} must use a different secret than the initiator's`);
  return { username: chap.username, password: chap.password, mutual: { username: chap.mutual.username, password: chap.mutual.password } };
}

export function validateCmdsnDepth(depth: number): number {
  // core_tpg_set_initiator_node_queue_depth accepts 1..TA_DEFAULT_CMDSN_DEPTH_MAX (512).
  if (!Number.isInteger(depth) || depth < 1 || depth > 512) throw new InvalidArgumentError(`cmdsn_depth ${depth} must be an integer from 1 to 512`);
  return depth;
}

export function validateAcl(acl: AclSpec): AclSpec {
  const initiatorIqn = normalizeIqn(acl.initiatorIqn, 'initiator IQN');
  const chap = validateChap(acl.chap, initiatorIqn);
  return {
    initiatorIqn,
    chap,
    ...(acl.cmdsnDepth === undefined ? {} : { cmdsnDepth: validateCmdsnDepth(acl.cmdsnDepth) }),
    ...(acl.readOnly === undefined ? {} : { readOnly: acl.readOnly === true }),
  };
}

/** Validates and normalises a whole export spec (IQNs lowercased), refusing duplicate initiators. */
export function validateExportSpec(spec: ExportSpec): ExportSpec {
  const acls = spec.acls.map(validateAcl);
  const seen = new Set<string>();
  for (const acl of acls) {
    if (seen.has(acl.initiatorIqn)) throw new InvalidArgumentError(`initiator ${acl.initiatorIqn} appears twice in the ACL list`);
    seen.add(acl.initiatorIqn);
  }
  return {
    backstoreName: validateBackstoreName(spec.backstoreName),
    devicePath: validateDevicePath(spec.devicePath),
    serial: validateUnitSerial(spec.serial),
    targetIqn: normalizeIqn(spec.targetIqn, 'target IQN'),
    portal: validatePortal(spec.portal),
    readOnly: spec.readOnly ?? false,
    thin: spec.thin,
    acls,
  };
}
