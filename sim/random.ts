/**
 * Deterministic pseudo-randomness for the simulator. Every record is rebuilt from a hash of
 * (seed, type, id, version), so the dataset needs no stored field values and stays memory-lean.
 */
export type Rng = () => number;

/** 32-bit mix of any number of integers (murmur3-style finaliser per step). */
export function hashInts(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const value of values) {
    h = Math.imul(h ^ (value | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    // Values above 2^32 (ids never are, but days * ids could be) still contribute their high part.
    h = Math.imul(h ^ Math.floor(value / 0x100000000), 0x27d4eb2f);
  }
  return h >>> 0;
}

/** 32-bit hash of a string (FNV-1a, then the same finaliser), for draws keyed on a request's URL. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return hashInts(h);
}

/** A uniform draw in [0, 1) from a 32-bit hash. */
export const unitOf = (hash: number): number => (hash >>> 0) / 4294967296;

/** mulberry32: tiny, fast and good enough for test data. */
export function rngFrom(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const intBetween = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));

export function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

export const chance = (rng: Rng, probability: number): boolean => rng() < probability;

export const digits = (rng: Rng, count: number): string => {
  let out = String(intBetween(rng, 1, 9));
  while (out.length < count) out += String(intBetween(rng, 0, 9));
  return out;
};

const hex8 = (rng: Rng): string => Math.floor(rng() * 0x100000000).toString(16).padStart(8, '0');

/** A version-4-shaped UUID drawn from the rng (deterministic, unlike crypto.randomUUID). */
export function uuidFrom(rng: Rng): string {
  const a = hex8(rng);
  const b = hex8(rng);
  const c = hex8(rng);
  const d = hex8(rng);
  const variant = (8 + (parseInt(c[0]!, 16) & 3)).toString(16);
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
}
