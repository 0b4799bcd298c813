import { readFile } from 'node:fs/promises';
import { FailedPreconditionError } from '../errors.ts';

export const DEFAULT_INITIATOR_NAME_FILE = '/etc/iscsi/initiatorname.iscsi';

/** The InitiatorName= value of an initiatorname.iscsi file; comments and blank lines are skipped. */
export function parseInitiatorName(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const match = /^\s*InitiatorName\s*=\s*(\S+)\s*$/.exec(line);
    if (match) return match[1]!;
  }
  return undefined;
}

/**
 * Reads this host's initiator name, lowercased. iSCSI names are case-insensitive (RFC 3720
 * 3.2.6.1) and LIO lowercases the name an initiator logs in with before matching ACLs (checked
 * in the test bed: a mixed-case name logs in through a lowercase ACL), while it keeps ACL
 * directory names as given. So the lowercase form is the one to report and to build ACLs from.
 * The path is a parameter because a containerised node plugin reads the host's file under /host.
 */
export async function readInitiatorName(path: string = DEFAULT_INITIATOR_NAME_FILE): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    throw new FailedPreconditionError(`cannot read the iSCSI initiator name from ${path}: ${(err as Error).message}`);
  }
  const name = parseInitiatorName(text);
  if (name === undefined) throw new FailedPreconditionError(`${path} has no InitiatorName= line`);
  return name.toLowerCase();
}
