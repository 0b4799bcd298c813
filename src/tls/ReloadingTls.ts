import { readFile } from 'node:fs/promises';
import type { experimental } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { LoadedTls } from './loadTlsFiles.ts';

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** How often the files are compared with what was loaded: cert-manager renews days ahead, the kubelet updates a Secret volume within a minute or so. */
export const DEFAULT_TLS_RELOAD_INTERVAL_MS = 30_000;

export interface ReloadingTlsOptions {
  readonly log: Logger;
  readonly intervalMs?: number;
  /** Told each set of files that was loaded and checked, the first included (the expiry metric). */
  readonly onLoaded?: (tls: LoadedTls) => void;
}

/**
 * This side's CA, certificate and key, reloaded when their files change: a Kubernetes Secret
 * volume swaps a symlink when cert-manager renews a certificate, and the process must not keep
 * serving (or calling with) the old one until it expires. The files are re-read every interval
 * and compared with what was loaded (polling sees a symlink swap, which a watch on the file would
 * miss); changed files pass the same checks as at start (`load`, e.g. loadTlsFiles plus the role's
 * identity check) before they are used, and a set that fails them is logged and ignored, the old
 * one kept. New connections use the new files (grpc-js certificate providers, used through
 * credentials.ts); connections already open keep theirs.
 */
export class ReloadingTls implements CertificateProvider {
  readonly #load: () => Promise<LoadedTls>;
  readonly #opts: ReloadingTlsOptions;
  #current: LoadedTls;
  #texts: readonly string[];
  #timer: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();

  private constructor(load: () => Promise<LoadedTls>, first: LoadedTls, texts: readonly string[], opts: ReloadingTlsOptions) {
    this.#load = load;
    this.#current = first;
    this.#texts = texts;
    this.#opts = opts;
  }

  /** Loads (throwing what `load` throws: start-up stops with that message) and starts watching. */
  static async open(load: () => Promise<LoadedTls>, opts: ReloadingTlsOptions): Promise<ReloadingTls> {
    const first = await load();
    const tls = new ReloadingTls(load, first, await readTexts(first), opts);
    opts.onLoaded?.(first);
    tls.#timer = setInterval(() => void tls.reloadIfChanged(), opts.intervalMs ?? DEFAULT_TLS_RELOAD_INTERVAL_MS).unref();
    return tls;
  }

  current(): LoadedTls {
    return this.#current;
  }

  /** Reloads when a file's content differs from what is in use; true when new files were taken. */
  async reloadIfChanged(): Promise<boolean> {
    const texts = await readTexts(this.#current).catch(() => undefined);
    // An unreadable file (mid-swap, or removed) is judged by `load` below, which names it.
    if (texts !== undefined && texts.every((t, i) => t === this.#texts[i])) return false;
    let next: LoadedTls;
    try {
      next = await this.#load();
    } catch (err: unknown) {
      const message = (err as Error).message;
      if (message !== this.#lastError) this.#opts.log.warn({ err: message }, 'TLS files changed but cannot be used; keeping the certificate loaded before');
      this.#lastError = message;
      return false;
    }
    this.#lastError = undefined;
    this.#current = next;
    this.#texts = await readTexts(next).catch(() => texts ?? this.#texts);
    this.#opts.log.info({ subject: next.subject, subjectAltName: next.subjectAltName, serialNumber: next.serialNumber, validTo: next.validTo }, 'TLS certificate reloaded; new connections use it');
    this.#opts.onLoaded?.(next);
    for (const l of this.#caListeners) l(this.#caUpdate());
    for (const l of this.#identityListeners) l(this.#identityUpdate());
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  // grpc-js CertificateProvider: listeners hear the current files, then each reload. The first
  // update comes a microtask later, as from grpc-js's own file watcher: its server credentials
  // add their listener before the server's watcher, and a synchronous answer would reach
  // nobody (every connection would then be dropped as "credentials not loaded").
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    queueMicrotask(() => {
      if (this.#caListeners.has(listener)) listener(this.#caUpdate());
    });
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#identityListeners.has(listener)) listener(this.#identityUpdate());
    });
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }

  #caUpdate() {
    return { caCertificate: Buffer.from(this.#current.caPem) };
  }
  #identityUpdate() {
    return { certificate: Buffer.from(this.#current.certPem), privateKey: Buffer.from(this.#current.keyPem) };
  }
}

async function readTexts(tls: LoadedTls): Promise<string[]> {
  return Promise.all([tls.paths.caPath, tls.paths.certPath, tls.paths.keyPath].map((p) => readFile(p, 'utf8')));
}
