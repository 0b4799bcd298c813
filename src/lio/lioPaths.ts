import { InvalidArgumentError } from '../errors.ts';

/**
 * Pure builders for paths below the LIO configfs root (/sys/kernel/config/target).
 * Every argument that becomes a path segment is checked here as well, as a last line of
 * defence; semantic validation (IQN syntax, names) happens where requests enter LioTarget.
 */

/** Each volume has its own target with exactly one TPG, tag 1. */
export const TPG_TAG = 1;
/** Each target exports exactly one LUN, number 0. */
export const LUN_ID = 0;

export interface Portal {
  readonly ip: string;
  readonly port: number;
}

export function hbaDir(hbaIndex: number): string {
  if (!Number.isSafeInteger(hbaIndex) || hbaIndex < 0) throw new InvalidArgumentError(`HBA index ${hbaIndex} must be a non-negative integer`);
  return `core/iblock_${hbaIndex}`;
}

export function backstoreDir(hbaIndex: number, name: string): string {
  return `${hbaDir(hbaIndex)}/${segment(name)}`;
}

export function targetDir(targetIqn: string): string {
  return `iscsi/${segment(targetIqn)}`;
}

export function tpgDir(targetIqn: string, tag: number = TPG_TAG): string {
  return `${targetDir(targetIqn)}/tpgt_${nonNegative(tag)}`;
}

export function lunDir(targetIqn: string, lun: number = LUN_ID): string {
  return `${tpgDir(targetIqn)}/lun/lun_${nonNegative(lun)}`;
}

export function portalDir(targetIqn: string, portal: Portal): string {
  return `${tpgDir(targetIqn)}/np/${segment(buildPortalName(portal))}`;
}

export function aclDir(targetIqn: string, initiatorIqn: string): string {
  return `${tpgDir(targetIqn)}/acls/${segment(initiatorIqn)}`;
}

export function mappedLunDir(targetIqn: string, initiatorIqn: string, lun: number = LUN_ID): string {
  return `${aclDir(targetIqn, initiatorIqn)}/lun_${nonNegative(lun)}`;
}

/** The np directory name: "ip:port", or "[ip]:port" for IPv6 (iscsi_target_configfs.c lio_target_call_addnptotpg). */
export function buildPortalName(portal: Portal): string {
  return portal.ip.includes(':') ? `[${portal.ip}]:${portal.port}` : `${portal.ip}:${portal.port}`;
}

/** Parses an np directory name back into a portal; undefined if it is not one. */
export function parsePortalName(name: string): Portal | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(name);
  if (!match) return undefined;
  return { ip: (match[1] ?? match[2])!, port: Number(match[3]) };
}

/** Parses a LUN link target such as "core/iblock_0/vol1" into its HBA and backstore name. */
export function parseBackstorePath(path: string): { readonly plugin: string; readonly hbaIndex: number; readonly name: string } | undefined {
  const match = /^core\/([a-z]+)_([0-9]+)\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  return { plugin: match[1]!, hbaIndex: Number(match[2]), name: match[3]! };
}

function segment(value: string): string {
  if (value === '' || value === '.' || value === '..' || /[/\0\s]/.test(value)) {
    throw new InvalidArgumentError(`${JSON.stringify(value)} cannot be used as a configfs name`);
  }
  return value;
}

function nonNegative(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${n} must be a non-negative integer`);
  return n;
}
