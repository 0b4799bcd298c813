import type { ControllerConfig } from '../config/parseControllerConfig.ts';
import { checkOwnIdentity } from '../tls/checkOwnIdentity.ts';
import { loadTlsFiles, TlsFileError } from '../tls/index.ts';
import type { LoadedTls } from '../tls/index.ts';

const HOW_TO_ISSUE = 'vbs-csi certs --out DIR --controller controller (DIR holding the cluster ca.crt and ca.key)';

/**
 * The controller's client certificate, checked before any socket: readable, from the CA, and
 * naming urn:vbs-csi:controller (the agents refuse anything else). When the all-in-one took the
 * default files next to --tls-ca, a problem with them says so and how to make them.
 */
export async function loadControllerTls(config: Pick<ControllerConfig, 'tls' | 'clientTlsBesideCa'>): Promise<LoadedTls> {
  try {
    const tls = await loadTlsFiles(config.tls);
    checkOwnIdentity(tls, { kind: 'controller' }, HOW_TO_ISSUE);
    return tls;
  } catch (err: unknown) {
    if (!config.clientTlsBesideCa || !(err instanceof TlsFileError) || err.path === config.tls.caPath) throw err;
    throw new TlsFileError(
      err.path,
      `${err.message.slice(err.path.length + 2)}. The all-in-one's controller calls its own agent as urn:vbs-csi:controller, so it needs a controller certificate besides the agent's: by default controller.crt and controller.key next to --tls-ca; make them with ${HOW_TO_ISSUE}, or pass --client-tls-cert and --client-tls-key`,
    );
  }
}
