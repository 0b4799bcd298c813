const REDACTED = '***';

/**
 * iscsiadm takes CHAP secrets as `--value` after a `--name node.session.auth.password*`,
 * so secrets are also redacted by position, not only by the values the caller listed.
 */
const SECRET_NAME = /(password|secret|passwd)/i;

/** Returns argv safe to log: every listed secret and every value of a secret-named option masked. */
export function redactArgs(args: readonly string[], secrets: readonly string[] = []): string[] {
  const out: string[] = [];
  let maskNextValue = false;
  for (const arg of args) {
    if (maskNextValue && arg !== '--value' && arg !== '-v') {
      out.push(REDACTED);
      maskNextValue = false;
      continue;
    }
    if (arg !== '--value' && arg !== '-v') maskNextValue = false;
    if (SECRET_NAME.test(arg) && !arg.includes('=')) maskNextValue = true;
    out.push(redactText(arg, secrets).replace(/((?:password|secret|passwd)[^=]*=).*/i, `$1${REDACTED}`));
  }
  return out;
}

/** Masks every occurrence of each secret in free text (stderr, messages). */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join(REDACTED);
  }
  return out;
}
