import type { AgentCredentialsPort } from '../agentApi/types.ts';
import { FailedPreconditionError } from '../errors.ts';
import type { ChapRequest, ChapSource } from './chapSource.ts';

/**
 * The all-in-one driver's ChapSource when it has no node certificate: the agent in the same
 * process, asked directly (nothing crosses a network or a process boundary). Only volumes of that
 * agent's storage node; for any other, the process needs a node certificate (--node-tls-cert).
 */
export class LocalChapSource implements ChapSource {
  readonly #agent: AgentCredentialsPort;
  readonly #storageNode: string;
  readonly #remote: ChapSource | undefined;

  constructor(opts: { readonly agent: AgentCredentialsPort; readonly storageNode: string; readonly remote?: ChapSource }) {
    this.#agent = opts.agent;
    this.#storageNode = opts.storageNode;
    this.#remote = opts.remote;
  }

  async fetch(req: ChapRequest, signal?: AbortSignal) {
    if (req.storageNode !== this.#storageNode) {
      if (this.#remote) return this.#remote.fetch(req, signal);
      throw new FailedPreconditionError(
        `volume ${req.storageNode}/${req.volumeId} is on another storage node than this all-in-one process's agent (${this.#storageNode}); give it a node certificate (--node-tls-cert, --node-tls-key from vbs-csi certs --node) to fetch CHAP credentials from other agents`,
      );
    }
    const { chap, target } = await this.#agent.chapCredentials({ volumeId: req.volumeId, initiatorIqn: req.initiatorIqn }, signal);
    return { chap, targetIqn: target.iqn };
  }
}
