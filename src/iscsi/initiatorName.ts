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
 * Reads this host's initiator name. Fails when the name is missing or not lowercase: LIO matches
 * ACL names byte for byte and our ACLs are lowercase (field notes 4.9), so a mixed-case name
 * would be refused at login with an authorization error that is hard to trace back to here.
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
  if (name !== name.toLowerCase()) {
    throw new FailedPreconditionError(`the initiator name ${name} in ${path} is not lowercase; LIO matches ACLs byte for byte, so set a lowercase name`);
  }
  return name;
}
