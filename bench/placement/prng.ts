/** A seeded pseudo-random source: the same seed gives the same sequence on every machine. */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
}

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): tiny, fast and statistically good enough for a
 * workload generator. Math.random cannot be seeded, and a benchmark must be reproducible.
 */
export function createPrng(seed: number): Prng {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** Log-normal with this median and shape sigma (Box–Muller on two uniforms). */
export function sampleLogNormal(prng: Prng, median: number, sigma: number): number {
  const u1 = 1 - prng.next(); // (0, 1]: log(0) would be -Infinity
  const u2 = prng.next();
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return median * Math.exp(sigma * normal);
}

/** Pareto (type I) with minimum `scale` and tail index `alpha`, by inverse transform. */
export function samplePareto(prng: Prng, scale: number, alpha: number): number {
  const u = 1 - prng.next(); // (0, 1]
  return scale / u ** (1 / alpha);
}
