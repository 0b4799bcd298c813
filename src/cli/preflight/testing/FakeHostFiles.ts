import { dirname, posix } from 'node:path';
import type { HostFiles } from '../hostFiles.ts';

/** An in-memory host: files with text, and symlinks (relative or absolute targets), as HostFiles sees them. */
export class FakeHostFiles implements HostFiles {
  readonly #files = new Map<string, string>();
  readonly #links = new Map<string, string>();

  file(path: string, text: string): this {
    this.#files.set(path, text);
    return this;
  }

  link(path: string, target: string): this {
    this.#links.set(path, target);
    return this;
  }

  async readText(path: string): Promise<string | undefined> {
    return this.#files.get(path);
  }

  async list(dir: string): Promise<string[]> {
    const prefix = `${dir}/`;
    const names = new Set<string>();
    for (const p of [...this.#files.keys(), ...this.#links.keys()]) if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]!);
    return [...names].sort();
  }

  async resolve(path: string): Promise<string | undefined> {
    let current = path;
    for (let hops = 0; hops < 16; hops++) {
      const target = this.#links.get(current);
      if (target === undefined) return this.#files.has(current) || (await this.list(current)).length > 0 ? current : undefined;
      current = posix.resolve(dirname(current), target);
    }
    return undefined;
  }
}
