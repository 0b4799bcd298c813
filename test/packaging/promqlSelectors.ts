/**
 * What an alert expression refers to, read from its PromQL text: each vector selector's metric
 * name with the labels it matches on, and the labels of its `by`/`without`/`on`/`ignoring`
 * clauses. Enough to check the chart's rules against the metrics the code registers (the names
 * are the contract); not a full PromQL parser (promtool is not installed here).
 */
export interface PromqlSelector {
  readonly metric: string;
  readonly labels: readonly string[];
}

export interface PromqlReferences {
  readonly selectors: readonly PromqlSelector[];
  readonly groupingLabels: readonly string[];
}

const OPERATOR_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export function promqlReferences(expr: string): PromqlReferences {
  // Strings and range/subquery brackets hold no names; blank them so they cannot be read as ones.
  const text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""').replace(/\[[^\]]*\]/g, ' ');
  const selectors: { metric: string; labels: string[]; end: number }[] = [];
  const groupingLabels: string[] = [];
  const token = /[a-zA-Z_:][a-zA-Z0-9_:]*|\{[^}]*\}/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(text)) !== null) {
    const word = m[0];
    if (word.startsWith('{')) {
      const owner = selectors.at(-1);
      if (!owner || owner.end !== text.slice(0, m.index).trimEnd().length) throw new Error(`label matchers without a metric name in: ${expr}`);
      owner.labels.push(...[...word.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!));
      continue;
    }
    if (m.index > 0 && /[0-9.]/.test(text[m.index - 1]!)) continue; // a unit of a number or duration (5m, 1e3)
    const rest = text.slice(m.index + word.length);
    const opens = /^\s*\(/.exec(rest);
    if (GROUPING.has(word)) {
      if (opens) {
        const start = m.index + word.length + opens[0].length;
        const close = text.indexOf(')', start);
        groupingLabels.push(...text.slice(start, close).split(',').map((s) => s.trim()).filter(Boolean));
        token.lastIndex = close + 1;
      }
      continue;
    }
    // An operator word, a function call, or an aggregation (`sum(...)`, `sum by (l) (...)`).
    if (OPERATOR_WORDS.has(word.toLowerCase()) || opens || /^\s*(by|without)\s*\(/.test(rest)) continue;
    selectors.push({ metric: word, labels: [], end: m.index + word.length });
  }
  return { selectors: selectors.map(({ metric, labels }) => ({ metric, labels })), groupingLabels };
}
