/** One storage node as the bench set it up: its VG and how much its pool may promise. */
export interface SpreadNode {
  readonly name: string;
  readonly vg: string;
  /** floor(pool size × over-provisioning ratio): the most its thin LVs may sum to. */
  readonly limitBytes: number;
}

/** One thin LV as `lvs` showed it, with the CSI name its tags carry (undefined when untagged). */
export interface SpreadLv {
  readonly vg: string;
  readonly sizeBytes: number;
  readonly csiName: string | undefined;
}

export interface NodeSpread {
  readonly name: string;
  readonly count: number;
  readonly provisionedBytes: number;
  readonly limitBytes: number;
}

export interface SpreadVerdict {
  readonly perNode: readonly NodeSpread[];
  /** Empty when every expected name has exactly one LV, there is no other LV and no node is past its limit. */
  readonly problems: readonly string[];
}

/**
 * Pure: where the volumes landed, per node (count and provisioned sum against the node's
 * over-provisioning limit), and what is wrong: an expected name with no LV or with several, an LV
 * of no expected name, an LV outside the nodes' VGs, a node whose thin LVs promise more than its limit.
 */
export function checkSpread(nodes: readonly SpreadNode[], lvs: readonly SpreadLv[], expectedNames: readonly string[]): SpreadVerdict {
  const problems: string[] = [];
  const byName = new Map<string, number>();
  for (const lv of lvs) {
    if (lv.csiName === undefined || !expectedNames.includes(lv.csiName)) problems.push(`an LV in ${lv.vg} of no expected name (${lv.csiName ?? 'untagged'})`);
    else byName.set(lv.csiName, (byName.get(lv.csiName) ?? 0) + 1);
    if (!nodes.some((n) => n.vg === lv.vg)) problems.push(`an LV in ${lv.vg}, which is no storage node's VG`);
  }
  for (const name of expectedNames) {
    const count = byName.get(name) ?? 0;
    if (count !== 1) problems.push(`${name} has ${count} LVs`);
  }
  const perNode = nodes.map((n) => {
    const mine = lvs.filter((lv) => lv.vg === n.vg);
    const provisionedBytes = mine.reduce((sum, lv) => sum + lv.sizeBytes, 0);
    if (provisionedBytes > n.limitBytes) problems.push(`${n.name} promises ${provisionedBytes} bytes, past its limit of ${n.limitBytes}`);
    return { name: n.name, count: mine.length, provisionedBytes, limitBytes: n.limitBytes };
  });
  return { perNode, problems };
}

/** Pure: "store-a 34 (544/768 MiB), store-b 33 (528/768 MiB), …". */
export function formatSpread(perNode: readonly NodeSpread[]): string {
  const mib = (b: number) => Math.round(b / 2 ** 20);
  return perNode.map((n) => `${n.name} ${n.count} (${mib(n.provisionedBytes)}/${mib(n.limitBytes)} MiB)`).join(', ');
}
