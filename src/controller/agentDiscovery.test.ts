import assert from 'node:assert/strict';
import type { lookup } from 'node:dns/promises';
import { describe, it } from 'node:test';
import { discoveredAgent, dnsAgents, endpointSliceAgents, staticAgents } from './agentDiscovery.ts';

describe('agent discovery', () => {
  it('a static list answers itself, a copy of the configuration', async () => {
    const list = ['a:9500', 'b:9500'];
    const discover = staticAgents(list);
    list.push('c:9500');
    assert.deepEqual(await discover(), ['a:9500', 'b:9500']);
  });

  it('DNS gives every address of the name with the port, IPv6 bracketed, deduplicated and sorted', async () => {
    const asked: unknown[] = [];
    const resolve = (async (host: string, opts: unknown) => {
      asked.push([host, opts]);
      return [{ address: '10.0.0.7', family: 4 }, { address: 'fd00::5', family: 6 }, { address: '10.0.0.3', family: 4 }, { address: '10.0.0.7', family: 4 }];
    }) as unknown as typeof lookup;
    assert.deepEqual(await dnsAgents('vbs-csi-agent.vbs-system.svc', 9500, resolve)(), ['10.0.0.3:9500', '10.0.0.7:9500', '[fd00::5]:9500']);
    assert.deepEqual(asked, [['vbs-csi-agent.vbs-system.svc', { all: true, verbatim: true }]]);
  });

  it('a failed lookup throws, for StorageNodes to keep the agents it knew', async () => {
    const resolve = (async () => {
      throw Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' });
    }) as unknown as typeof lookup;
    await assert.rejects(dnsAgents('nope.svc', 9500, resolve)(), /ENOTFOUND/);
  });

  it('EndpointSlices give every agent pod with its node; a terminating pod counts as not ready; a broken watch throws', async () => {
    let broken = false;
    const endpoints = {
      current: () => {
        if (broken) throw new Error('watch broken, retrying: HTTP 403 Forbidden');
        return [
          { address: '10.0.0.1:9500', node: 'n1', pod: 'vbs/a1', ready: true, terminating: false },
          { address: '10.0.0.2:9500', node: 'n2', pod: 'vbs/a2', ready: false, terminating: false },
          { address: '10.0.0.3:9500', node: 'n3', pod: 'vbs/a3', ready: true, terminating: true },
        ];
      },
    };
    const discover = endpointSliceAgents(endpoints);
    assert.deepEqual(await discover(), [
      { address: '10.0.0.1:9500', kubeNode: 'n1', pod: 'vbs/a1', ready: true },
      { address: '10.0.0.2:9500', kubeNode: 'n2', pod: 'vbs/a2', ready: false },
      { address: '10.0.0.3:9500', kubeNode: 'n3', pod: 'vbs/a3', ready: false },
    ]);
    broken = true;
    await assert.rejects(discover(), /HTTP 403/);
    assert.deepEqual(discoveredAgent('a:1'), { address: 'a:1' });
  });
});
