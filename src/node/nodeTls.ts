import type { Logger } from 'pino';
import { UnavailableError } from '../errors.ts';
import { ReloadingTls, loadTlsFiles } from '../tls/index.ts';
import type { LoadedTls, TlsFilePaths, TlsMaterial } from '../tls/index.ts';
import { checkNodeIdentity } from './checkNodeIdentity.ts';

/**
 * The node plugin's certificate, reloaded when its files change (ReloadingTls, like agent and
 * controller): a renewed certificate is used from the next NodeStage on, without a restart.
 * With in-cluster issuance the files appear only once the controller has signed this node's
 * request, which needs the node plugin registered first (the signer checks the CSINode): the
 * plugin starts without them, and a stage before they exist answers UNAVAILABLE (kubelet retries).
 */
export class NodeTls {
  readonly #paths: TlsFilePaths;
  readonly #initiatorIqn: string | undefined;
  readonly #log: Logger;
  readonly #intervalMs: number | undefined;
  #tls: ReloadingTls | undefined;
  #opening: Promise<ReloadingTls> | undefined;

  private constructor(paths: TlsFilePaths, initiatorIqn: string | undefined, log: Logger, intervalMs?: number) {
    this.#paths = paths;
    this.#intervalMs = intervalMs;
    this.#initiatorIqn = initiatorIqn;
    this.#log = log;
  }

  /** Opens the files now: a missing or wrong certificate stops the start with its reason. */
  static async open(paths: TlsFilePaths, initiatorIqn: string | undefined, log: Logger, intervalMs?: number): Promise<NodeTls> {
    const tls = new NodeTls(paths, initiatorIqn, log, intervalMs);
    await tls.current();
    return tls;
  }

  /** Opens the files on first use: they are still being issued. */
  static later(paths: TlsFilePaths, initiatorIqn: string | undefined, log: Logger, intervalMs?: number): NodeTls {
    return new NodeTls(paths, initiatorIqn, log, intervalMs);
  }

  async current(): Promise<TlsMaterial> {
    if (this.#tls) return this.#tls.current();
    this.#opening ??= ReloadingTls.open(() => this.#load(), { log: this.#log, ...(this.#intervalMs !== undefined ? { intervalMs: this.#intervalMs } : {}) }).finally(() => {
      this.#opening = undefined;
    });
    const tls = await this.#opening;
    this.#tls ??= tls;
    if (this.#tls !== tls) tls.stop();
    const first = this.#tls.current();
    this.#log.info({ subject: first.subject, subjectAltName: first.subjectAltName, validTo: first.validTo }, 'node certificate');
    return first;
  }

  /** For a stage before the certificate exists: UNAVAILABLE with the reason, so kubelet retries. */
  async currentOrUnavailable(): Promise<TlsMaterial> {
    try {
      return await this.current();
    } catch (err: unknown) {
      throw new UnavailableError(`this node has no usable certificate for asking the agents for CHAP credentials yet (${(err as Error).message}); it is requested from the controller at start, retry`);
    }
  }

  stop(): void {
    this.#tls?.stop();
  }

  async #load(): Promise<LoadedTls> {
    const tls = await loadTlsFiles(this.#paths);
    if (this.#initiatorIqn !== undefined) checkNodeIdentity(tls.subjectAltName, this.#paths.certPath, this.#initiatorIqn);
    return tls;
  }
}
