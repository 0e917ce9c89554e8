import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import type { DigestMap } from '../../core/wire/scheduler.ts';
import { DigestVoucher } from './digest-voucher.ts';

function fixture(vouched: DigestMap) {
  const known = new Map<number, string>();
  const reports: Array<[number, string]> = [];
  const rereads: number[] = [];
  let fetches = 0;
  const voucher = new DigestVoucher({
    fetchVouched: async () => {
      fetches++;
      return { ...vouched };
    },
    known: (index) => known.get(index),
    merge: (map) => { for (const [index, digest] of Object.entries(map)) known.set(Number(index), digest); },
    report: async (index, digest) => reports.push([index, digest]),
    mismatch: (index) => rereads.push(index),
    log: createLogger({ sink: () => {}, level: 'error' }),
  });
  return { voucher, reports, rereads, fetches: () => fetches };
}

describe('DigestVoucher', () => {
  it('lets a piece go to children once the vouched digest is known and matches', async () => {
    const vouched: DigestMap = {};
    const { voucher, fetches } = fixture(vouched);
    const published = voucher.publish(0, 'a'.repeat(64));
    setTimeout(() => (vouched['0'] = 'a'.repeat(64)), 300);
    expect(await published).toBe(true);
    expect(fetches()).toBeGreaterThan(1);
  });

  it('on a mismatch, never offers the piece: reports it and asks for it to be read again', async () => {
    const { voucher, reports, rereads } = fixture({ '3': 'b'.repeat(64) });
    expect(await voucher.publish(3, 'a'.repeat(64))).toBe(false);
    expect(reports).toEqual([[3, 'a'.repeat(64)]]);
    expect(rereads).toEqual([3]);
    await voucher.drain();
  });
});
