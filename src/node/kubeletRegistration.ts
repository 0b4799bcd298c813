import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { unaryAdapter } from '../grpc/adaptUnary.ts';
import { loadPluginRegistrationProto } from '../grpc/loadProtos.ts';
import { serve } from '../grpc/serve.ts';
import type { RunningServer } from '../grpc/serve.ts';
import type { RegistrationHandlers } from '../generated/pluginregistration/Registration.ts';
import type { PluginInfo } from '../generated/pluginregistration/PluginInfo.ts';
import type { RegistrationStatus__Output } from '../generated/pluginregistration/RegistrationStatus.ts';
import type { RegistrationStatusResponse } from '../generated/pluginregistration/RegistrationStatusResponse.ts';

/** The CSI versions kubelet may speak to the node plugin (node-driver-registrar's supportedVersions). */
export const SUPPORTED_VERSIONS: readonly string[] = ['1.0.0'];

export interface KubeletRegistrationOptions {
  /** kubelet's plugin watcher directory as this process sees it, e.g. /var/lib/kubelet/plugins_registry. */
  readonly dir: string;
  readonly driverName: string;
  /**
   * The node plugin's CSI socket as kubelet sees it on the host (node-driver-registrar's
   * --kubelet-registration-path), e.g. /var/lib/kubelet/plugins/vbs.csi.io/csi.sock: kubelet dials
   * this path, not the one inside the container.
   */
  readonly csiSocketOnHost: string;
  readonly log: Logger;
}

/** `<dir>/<driver name>-reg.sock`, the name node-driver-registrar uses (buildSocketPath). */
export function registrationSocketPath(dir: string, driverName: string): string {
  return join(dir, `${driverName}-reg.sock`);
}

/**
 * The answers kubelet's plugin watcher expects from a CSI plugin's registration socket, as
 * node-driver-registrar gives them (cmd/csi-node-driver-registrar/main.go, registrationServer:
 * https://github.com/kubernetes-csi/node-driver-registrar). One difference: on
 * plugin_registered=false the sidecar exits so that its container restarts and makes a new socket;
 * here that would restart the whole node plugin, so the error is logged and the socket stays.
 * kubelet keeps a socket it saw in its desired state and retries RegisterPlugin with exponential
 * backoff until it succeeds (k8s.io/kubernetes pkg/kubelet/pluginmanager/reconciler/reconciler.go).
 */
export function createRegistrationHandlers(opts: Omit<KubeletRegistrationOptions, 'dir'>): RegistrationHandlers {
  const unary = unaryAdapter(opts.log);
  return {
    GetInfo: unary('GetInfo', async (): Promise<PluginInfo> => ({
      type: 'CSIPlugin',
      name: opts.driverName,
      endpoint: opts.csiSocketOnHost,
      supported_versions: [...SUPPORTED_VERSIONS],
    })),
    NotifyRegistrationStatus: unary('NotifyRegistrationStatus', async (status: RegistrationStatus__Output): Promise<RegistrationStatusResponse> => {
      if (status.plugin_registered) opts.log.info({ endpoint: opts.csiSocketOnHost }, 'kubelet registered the plugin');
      else opts.log.error({ error: status.error }, 'kubelet could not register the plugin; it retries while the registration socket stays');
      return {};
    }),
  };
}

/**
 * Serves kubelet's plugin registration on `<dir>/<driver name>-reg.sock`, in place of the
 * node-driver-registrar sidecar (docs/node-plugin.md, "Registration with kubelet"). Start it once
 * the CSI socket serves: kubelet calls NodeGetInfo as soon as it has registered the plugin. A stale
 * socket is replaced and shutdown removes the socket (src/grpc/serve.ts), so kubelet deregisters
 * the plugin when the pod stops. The socket is made owner-only, as the sidecar's umask 0077 does.
 */
export async function serveKubeletRegistration(opts: KubeletRegistrationOptions): Promise<RunningServer> {
  const path = registrationSocketPath(opts.dir, opts.driverName);
  const log = opts.log.child({ component: 'kubelet-registration' });
  const server = new Server();
  server.addService(loadPluginRegistrationProto().pluginregistration.Registration.service, createRegistrationHandlers({ ...opts, log }));
  const running = await serve({ server, endpoint: { kind: 'unix', path }, log });
  try {
    await chmod(path, 0o600);
  } catch (err: unknown) {
    await running.shutdown(0);
    throw err;
  }
  return running;
}
