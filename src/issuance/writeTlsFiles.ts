import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TlsFilePaths } from '../tls/index.ts';

/**
 * Writes a CA, certificate and key where a role reads them (ReloadingTls). Each file is replaced
 * whole (write, then rename), the key 0600; key and certificate last and back to back: a reader
 * that catches a key that does not match the certificate refuses the pair and reads again later.
 */
export async function writeTlsFiles(paths: TlsFilePaths, pem: { readonly caPem: string; readonly certPem: string; readonly keyPem: string }): Promise<void> {
  await put(paths.caPath, pem.caPem, 0o644);
  await put(paths.keyPath, pem.keyPem, 0o600);
  await put(paths.certPath, pem.certPem, 0o644);
}

async function put(path: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
