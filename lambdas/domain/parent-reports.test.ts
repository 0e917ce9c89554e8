import { describe, expect, it } from 'vitest';
import { admitReports, MAX_REPORTS_PER_TASK, weighReports } from './parent-reports.ts';

const rules = { windowMs: 60_000, quorum: 2 };

describe('weighReports', () => {
  it('hides a peer one identity reported from that reporter only', () => {
    const weighing = weighReports([{ reported: 'p', reporter: 'r1', at: 1_000 }], 2_000, rules);
    expect([...weighing.withheld]).toEqual([]);
    expect([...weighing.reportedBy('r1')]).toEqual(['p']);
    expect([...weighing.reportedBy('r2')]).toEqual([]);
  });

  it('withholds a peer from everyone once two distinct identities reported it within the window', () => {
    const reports = [
      { reported: 'p', reporter: 'r1', at: 1_000 },
      { reported: 'p', reporter: 'r1', at: 1_500 },
      { reported: 'q', reporter: 'r1', at: 1_000 },
      { reported: 'p', reporter: 'r2', at: 2_000 },
    ];
    expect([...weighReports(reports, 3_000, rules).withheld]).toEqual(['p']);
  });

  it('counts no report older than the window, and lists those to forget', () => {
    const reports = [{ reported: 'p', reporter: 'r1', at: 0 }, { reported: 'p', reporter: 'r2', at: 50_000 }];
    const weighing = weighReports(reports, 70_000, rules);
    expect(weighing.withheld.size).toBe(0);
    expect(weighing.expired).toEqual([reports[0]]);
  });

  it('ignores a peer reporting itself', () => {
    const reports = [{ reported: 'p', reporter: 'p', at: 0 }, { reported: 'p', reporter: 'r1', at: 0 }];
    expect(weighReports(reports, 1, rules).withheld.size).toBe(0);
  });
});

describe('admitReports', () => {
  it('keeps only registered peers other than the reporter, once each', () => {
    const admitted = admitReports('r1', ['p', 'p', 'ghost', 'r1'], new Set(['p', 'r1']), 5, 0);
    expect(admitted).toEqual([{ reported: 'p', reporter: 'r1', at: 5 }]);
  });

  it('drops reports past the per-task cap', () => {
    expect(admitReports('r1', ['p'], new Set(['p']), 5, MAX_REPORTS_PER_TASK)).toEqual([]);
  });
});
