import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.ts';

export const DEFAULT_ISCSI_PORT = 3260;

export interface IscsiPortal {
  readonly ip: string;
  readonly port: number;
}

export function validatePortal(portal: IscsiPortal): IscsiPortal {
  if (isIP(portal.ip) === 0) throw new InvalidArgumentError(`portal address ${JSON.stringify(portal.ip)} is not an IP address (udev by-path links carry IPs, never host names)`);
  if (!Number.isInteger(portal.port) || portal.port < 1 || portal.port > 65535) throw new InvalidArgumentError(`portal port ${portal.port} must be from 1 to 65535`);
  return portal;
}

/** iscsiadm's `-p` value: "ip:port[,tpgt]", IPv6 in brackets. */
export function formatPortalArg(portal: IscsiPortal, tpgt?: number): string {
  const host = portal.ip.includes(':') ? `[${portal.ip}]` : portal.ip;
  return `${host}:${portal.port}${tpgt === undefined ? '' : `,${tpgt}`}`;
}

/**
 * Parses "ip[:port][,tpgt]" as iscsiadm prints and accepts it; IPv6 in brackets when a port
 * follows. The port defaults to 3260 (democratic-csi iscsi.js does the same).
 */
export function parsePortal(text: string): { readonly portal: IscsiPortal; readonly tpgt: number | undefined } | undefined {
  let rest = text.trim();
  let tpgt: number | undefined;
  const comma = rest.lastIndexOf(',');
  if (comma >= 0) {
    const tag = rest.slice(comma + 1);
    if (!/^-?[0-9]+$/.test(tag)) return undefined;
    const n = Number(tag);
    // iscsiadm shows "no tag" as -1 or, in `-m node`, as 4294967295.
    tpgt = n < 0 || n === 4294967295 ? undefined : n;
    rest = rest.slice(0, comma);
  }
  let ip: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) return undefined;
    ip = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) return undefined;
    portText = after === '' ? undefined : after.slice(1);
  } else if ((rest.match(/:/g) ?? []).length > 1) {
    ip = rest; // a bare IPv6 address: every colon belongs to it
  } else {
    const colon = rest.indexOf(':');
    ip = colon < 0 ? rest : rest.slice(0, colon);
    portText = colon < 0 ? undefined : rest.slice(colon + 1);
  }
  if (portText !== undefined && !/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = portText === undefined ? DEFAULT_ISCSI_PORT : Number(portText);
  if (isIP(ip) === 0 || port < 1 || port > 65535) return undefined;
  return { portal: { ip, port }, tpgt };
}
