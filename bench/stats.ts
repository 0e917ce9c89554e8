/** Small order statistics for benchmark reports. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest-rank on the sorted sample, interpolated between neighbours.
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export const max = (values: readonly number[]): number => values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);

export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Every number of a cost breakdown to 5 decimals (dollars). */
export function roundCost<T extends object>(cost: T): T {
  return Object.fromEntries(Object.entries(cost).map(([key, value]) => [key, round(value as number, 5)])) as T;
}
