import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServiceError, handleUnaryCall } from '@grpc/grpc-js';
import { pino } from 'pino';
import type { MetricValue } from 'prom-client';
import { NotFoundError } from '../errors.ts';
import { adaptUnary } from '../grpc/adaptUnary.ts';
import { createProcessMetrics } from './index.ts';

const silent = pino({ level: 'silent' });

type MetricValueWithName<T extends string> = MetricValue<T> & { readonly metricName?: string };

/** Calls a grpc-js unary handler as the server would, with a bare call object; resolves with (error, response). */
function callHandler<Req, Res>(handler: handleUnaryCall<Req, Res>, request: Req): Promise<{ err: Partial<ServiceError> | null; response: Res | undefined }> {
  const call = Object.assign(new EventEmitter(), { request }) as unknown as ServerUnaryCall<Req, Res>;
  return new Promise((resolve) => handler(call, (err, response) => resolve({ err: err as Partial<ServiceError> | null, response: response ?? undefined })));
}

/** A metric's samples; a histogram's carry the name of their series (_bucket, _sum, _count). */
async function valuesOf(registry: ReturnType<typeof createProcessMetrics>['registry'], name: string): Promise<MetricValueWithName<string>[]> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  return (await metric.get()).values;
}

describe('CallMetrics through adaptUnary', () => {
  test('a call that fails with NotFoundError is counted as NOT_FOUND under its service and method, with its duration', async () => {
    const { registry, calls } = createProcessMetrics({ processMetrics: false });
    const handler = adaptUnary<{ volume_id: string }, object>(
      'ControllerGetVolume',
      silent,
      async () => {
        await new Promise((r) => setTimeout(r, 20));
        throw new NotFoundError('volume store-a/pvc-1 does not exist');
      },
      { calls: calls.forService('csi.v1.Controller') },
    );

    const { err } = await callHandler(handler, { volume_id: 'store-a/pvc-1' });
    assert.equal(err?.code, status.NOT_FOUND, 'the answer is unchanged by the metrics');

    const labels = { service: 'csi.v1.Controller', method: 'ControllerGetVolume', code: 'NOT_FOUND' };
    assert.deepEqual(
      (await valuesOf(registry, 'vbs_csi_operations_total')).map((v) => ({ labels: v.labels, value: v.value })),
      [{ labels, value: 1 }],
    );
    const duration = await valuesOf(registry, 'vbs_csi_operation_duration_seconds');
    const count = duration.find((v) => v.metricName === 'vbs_csi_operation_duration_seconds_count');
    const sum = duration.find((v) => v.metricName === 'vbs_csi_operation_duration_seconds_sum');
    assert.deepEqual(count?.labels, labels);
    assert.equal(count?.value, 1);
    assert.ok(sum !== undefined && sum.value >= 0.015 && sum.value < 5, `duration ${sum?.value} s covers the handler's 20 ms`);
    const buckets = duration.filter((v) => v.metricName === 'vbs_csi_operation_duration_seconds_bucket');
    assert.equal(buckets.find((b) => b.labels['le'] === 0.01)?.value, 0, 'not in the 10 ms bucket');
    assert.equal(buckets.find((b) => b.labels['le'] === 600)?.value, 1, 'buckets reach 600 s for slow storage calls');
  });

  test('successes count as OK, separately per method and per service', async () => {
    const { registry, calls } = createProcessMetrics({ processMetrics: false });
    const probe = adaptUnary('Probe', silent, async () => ({}), { calls: calls.forService('csi.v1.Identity') });
    const create = adaptUnary('agent.CreateVolume', silent, async () => ({}), { calls: calls.forService('vbs.agent.v1.AgentVolumes') });
    await callHandler(probe, {});
    await callHandler(probe, {});
    await callHandler(create, {});
    const counted = (await valuesOf(registry, 'vbs_csi_operations_total')).map((v) => `${v.labels['service']} ${v.labels['method']} ${v.labels['code']} ${v.value}`);
    assert.deepEqual(counted.sort(), ['csi.v1.Identity Probe OK 2', 'vbs.agent.v1.AgentVolumes agent.CreateVolume OK 1']);
  });

  test('without an observer, or with one that throws, the call is answered as before', async () => {
    const plain = adaptUnary('GetPluginInfo', silent, async () => ({ name: 'vbs.csi.io' }));
    assert.deepEqual((await callHandler(plain, {})).response, { name: 'vbs.csi.io' });
    const broken = adaptUnary('GetPluginInfo', silent, async () => ({ name: 'vbs.csi.io' }), {
      calls: {
        observe() {
          throw new Error('metrics broke');
        },
      },
    });
    assert.deepEqual(await callHandler(broken, {}), { err: null, response: { name: 'vbs.csi.io' } });
  });

  test('the process registry carries the default process metrics unless turned off', async () => {
    assert.match(await createProcessMetrics().registry.metrics(), /^process_cpu_user_seconds_total /m);
    assert.doesNotMatch(await createProcessMetrics({ processMetrics: false }).registry.metrics(), /process_cpu/);
  });
});
