import type { Scenario } from '../../e2e/scenarios/Scenario.ts';
import { concurrentCreatesBench } from './concurrentCreates.bench.ts';
import { dataPathBench } from './dataPath.bench.ts';
import { nodeStageBench } from './nodeStage.bench.ts';
import { snapshotBench } from './snapshot.bench.ts';
import { volumeLatencyBench } from './volumeLatency.bench.ts';

/**
 * The benchmark scenarios `npm run bench` runs in the test-bed VM, in this order. They are not
 * e2e tests (not in e2e/scenarios/index.ts): the guest runner loads this list when the run
 * directory's registry.txt names it. Each records its comparisons as `bench-record` log lines.
 */
export const scenarios: readonly Scenario[] = [volumeLatencyBench, nodeStageBench, dataPathBench, snapshotBench, concurrentCreatesBench];
