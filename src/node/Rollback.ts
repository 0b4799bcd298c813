import type { Logger } from 'pino';

/**
 * The undo list of a multi-step operation (ceph-csi stageTransaction): each step that changed the
 * host pushes how to reverse it; on failure `rollback` runs them newest first. An undo that fails
 * is logged and the next one still runs: the caller rethrows the original error, which is the one
 * the CO must see.
 */
export class Rollback {
  readonly #undo: { readonly what: string; readonly run: () => Promise<unknown> }[] = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  push(what: string, run: () => Promise<unknown>): void {
    this.#undo.push({ what, run });
  }

  async rollback(): Promise<void> {
    for (const step of this.#undo.reverse()) {
      try {
        await step.run();
        this.#log.info({ step: step.what }, 'rolled back');
      } catch (err: unknown) {
        this.#log.warn({ step: step.what, err }, 'rollback step failed; left for the next unstage');
      }
    }
    this.#undo.length = 0;
  }
}
