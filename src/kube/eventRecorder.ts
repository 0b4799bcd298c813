import { randomBytes } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { describeKubeError, kubeStatusOf, withKubeTimeout } from './kubeClient.ts';
import type { KubeClient } from './kubeClient.ts';

/** The object an Event is about. */
export interface EventSubject {
  readonly kind: string;
  readonly apiVersion: string;
  readonly name: string;
  /** Empty for cluster-scoped objects (Node, PersistentVolume). */
  readonly namespace?: string;
}

export interface EventToRecord {
  readonly regarding: EventSubject;
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, what happened (e.g. ThinPoolOverLimit). */
  readonly reason: string;
  /** For a person; never a secret. The newest message of a series replaces the older one. */
  readonly message: string;
}

/** Records Events; fire and forget: a failed write is reported to onError, never thrown. */
export interface EventSink {
  record(event: EventToRecord): void;
}

export interface KubeEventRecorderOptions {
  /** source.component and reportingComponent, e.g. vbs.csi.io/controller. */
  readonly component: string;
  /** reportingInstance, e.g. the pod name. */
  readonly instance: string;
  readonly onError?: (message: string) => void;
  readonly now?: () => number;
  /** A repeat within this long after the last write is only counted; the count is written when it ends. Default 60 s. */
  readonly repeatWriteIntervalMs?: number;
  /** A series not seen for this long starts over as a new Event. Default 10 min (client-go's aggregation window). */
  readonly seriesExpiryMs?: number;
  /** Per object: at most `burst` writes, refilled one per `refillMs` (client-go's spam filter: 25, one per 5 min). */
  readonly burst?: number;
  readonly refillMs?: number;
}

interface Series {
  readonly eventName: string;
  readonly namespace: string;
  readonly firstTimestamp: Date;
  count: number;
  /** Count already written to the Event. */
  writtenCount: number;
  lastSeenMs: number;
  lastWriteMs: number;
  message: string;
  timer: NodeJS.Timeout | undefined;
  writing: Promise<void> | undefined;
}

/** API limit on a message is 1 KiB for events.k8s.io notes; core Events have no limit, we keep the same. */
const MAX_MESSAGE = 1024;

/**
 * Writes core/v1 Events (the API kubectl describe shows, and the one the sidecars' RBAC already
 * grants), deduplicated as client-go's EventRecorder does: one Event per object, reason and type,
 * whose `count` and `lastTimestamp` grow on repeats (a series), written at most once per
 * `repeatWriteIntervalMs`; and a per-object token bucket, so a flapping node cannot flood the API
 * server. Cluster-scoped objects' Events go to namespace "default", as client-go puts them.
 */
export class KubeEventRecorder implements EventSink {
  readonly #kube: KubeClient;
  readonly #opts: KubeEventRecorderOptions;
  readonly #now: () => number;
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();
  #stopped = false;
  /** Writes refused by the rate limit, for tests and logs. */
  dropped = 0;

  constructor(kube: KubeClient, opts: KubeEventRecorderOptions) {
    this.#kube = kube;
    this.#opts = opts;
    this.#now = opts.now ?? (() => Date.now());
  }

  record(event: EventToRecord): void {
    if (this.#stopped) return;
    const now = this.#now();
    this.#expire(now);
    const r = event.regarding;
    const subject = `${r.kind}/${r.namespace ?? ''}/${r.name}`;
    const key = `${subject}/${event.type}/${event.reason}`;
    const message = event.message.length > MAX_MESSAGE ? `${event.message.slice(0, MAX_MESSAGE - 1)}…` : event.message;
    const existing = this.#series.get(key);
    if (existing) {
      existing.count++;
      existing.lastSeenMs = now;
      existing.message = message;
      this.#scheduleUpdate(existing);
      return;
    }
    if (!this.#take(subject, now)) {
      this.dropped++;
      return;
    }
    const namespace = r.namespace !== undefined && r.namespace !== '' ? r.namespace : 'default';
    const series: Series = {
      eventName: `${r.name}.${randomBytes(8).toString('hex')}`,
      namespace,
      firstTimestamp: new Date(now),
      count: 1,
      writtenCount: 1,
      lastSeenMs: now,
      lastWriteMs: now,
      message,
      timer: undefined,
      writing: undefined,
    };
    this.#series.set(key, series);
    const body: CoreV1Event = {
      metadata: { name: series.eventName, namespace },
      involvedObject: { kind: r.kind, apiVersion: r.apiVersion, name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) },
      type: event.type,
      reason: event.reason,
      message,
      count: 1,
      firstTimestamp: series.firstTimestamp,
      lastTimestamp: series.firstTimestamp,
      source: { component: this.#opts.component },
      reportingComponent: this.#opts.component,
      reportingInstance: this.#opts.instance,
    };
    series.writing = this.#call(`create Event ${event.reason} about ${r.kind} ${r.name}`, () => this.#kube.core.createNamespacedEvent({ namespace, body }))
      .then((ok) => {
        // Not written: the next occurrence starts a new series.
        if (!ok) this.#series.delete(key);
      })
      .finally(() => {
        series.writing = undefined;
      });
  }

  /** Writes pending counts now (tests, shutdown). */
  async flush(): Promise<void> {
    for (const s of this.#series.values()) {
      await s.writing;
      if (s.count > s.writtenCount) {
        clearTimeout(s.timer);
        s.timer = undefined;
        await this.#update(s);
      }
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const s of this.#series.values()) clearTimeout(s.timer);
  }

  #scheduleUpdate(s: Series): void {
    if (s.timer !== undefined) return;
    const interval = this.#opts.repeatWriteIntervalMs ?? 60_000;
    const wait = Math.max(0, s.lastWriteMs + interval - this.#now());
    s.timer = setTimeout(() => {
      s.timer = undefined;
      void this.#update(s);
    }, wait).unref();
  }

  async #update(s: Series): Promise<void> {
    await s.writing;
    if (this.#stopped || s.count === s.writtenCount) return;
    const count = s.count;
    const now = this.#now();
    s.lastWriteMs = now;
    const body = { count, lastTimestamp: new Date(s.lastSeenMs).toISOString(), message: s.message };
    let gone = false;
    s.writing = this.#call(`update Event ${s.eventName}`, () =>
      this.#kube.core.patchNamespacedEvent({ name: s.eventName, namespace: s.namespace, body }, this.#kube.mergePatch).catch((err: unknown) => {
        // The API server deletes Events after an hour (--event-ttl): the next occurrence starts over.
        if (kubeStatusOf(err) !== 404) throw err;
        gone = true;
      }),
    ).then((ok) => {
      if (ok) s.writtenCount = count;
      if (gone) for (const [key, x] of this.#series) if (x === s) this.#series.delete(key);
    });
    await s.writing;
    s.writing = undefined;
  }

  /** True when the call succeeded; reports the failure otherwise. */
  async #call(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await withKubeTimeout(fn(), 15_000, what);
      return true;
    } catch (err: unknown) {
      const denied = kubeStatusOf(err) === 403 ? ' (grant create and patch on events; the chart does)' : '';
      this.#opts.onError?.(`${what}: ${describeKubeError(err)}${denied}`);
      return false;
    }
  }

  #take(subject: string, now: number): boolean {
    const burst = this.#opts.burst ?? 25;
    const refillMs = this.#opts.refillMs ?? 300_000;
    const b = this.#buckets.get(subject) ?? { tokens: burst, atMs: now };
    const refilled = Math.floor((now - b.atMs) / refillMs);
    if (refilled > 0) {
      b.tokens = Math.min(burst, b.tokens + refilled);
      b.atMs += refilled * refillMs;
    }
    this.#buckets.set(subject, b);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  #expire(now: number): void {
    const expiry = this.#opts.seriesExpiryMs ?? 600_000;
    for (const [key, s] of this.#series) {
      if (now - s.lastSeenMs > expiry && s.timer === undefined && s.writing === undefined) this.#series.delete(key);
    }
  }
}
