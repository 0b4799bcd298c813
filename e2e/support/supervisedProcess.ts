import type { DriverProcess } from './driverProcess.ts';

export interface SupervisedProcess extends DriverProcess {
  /** How many times it died by SIGKILL on its own and was started again. */
  restarts(): number;
}

/**
 * What the kubelet does for a crashed container, for one driver process: when it dies by
 * SIGKILL that nobody here asked for (a crash point fired), it is started again at once with the
 * same arguments and environment. A kill asked through `kill()` stops it for good; `exited`
 * resolves then. `output()` holds every generation's output, each headed by a marker line.
 */
export function superviseProcess(start: () => DriverProcess, onRestart: (name: string, restarts: number) => void = () => {}): SupervisedProcess {
  let current = start();
  let stopping = false;
  let restarts = 0;
  let finished = false;
  const outputs: (() => string)[] = [];
  let resolveExited!: (r: Awaited<DriverProcess['exited']>) => void;
  const exited = new Promise<Awaited<DriverProcess['exited']>>((resolve) => {
    resolveExited = resolve;
  });
  const watch = (p: DriverProcess): void => {
    outputs.push(() => `--- ${p.name} generation ${outputs.length} ---\n${p.output()}`);
    void p.exited.then((result) => {
      if (!stopping && result.signal === 'SIGKILL') {
        restarts++;
        current = start();
        onRestart(current.name, restarts);
        watch(current);
        return;
      }
      finished = true;
      resolveExited(result);
    });
  };
  watch(current);
  return {
    get name() {
      return current.name;
    },
    kill(signal) {
      stopping = true;
      current.kill(signal);
    },
    exited,
    hasExited: () => finished,
    output: () => outputs.map((o) => o()).join('\n'),
    restarts: () => restarts,
  };
}
