/**
 * Reports about parents that served bad data are evidence, not verdicts: a
 * report hides the reported peer from its reporter only; a peer is withheld
 * from everyone only when enough distinct identities reported it within a
 * window; and reports expire, so a peer that repaired itself is offered again.
 * Nobody is ever denied the object itself for being reported.
 */

/** One identity's report of one parent for one task. */
export interface ParentReport {
  /** The peer reported for bad data. */
  readonly reported: string;
  /** The reporting identity's peer id. */
  readonly reporter: string;
  /** Epoch ms of the report. */
  readonly at: number;
}

export interface ReportRules {
  /** How long a report counts (ms). */
  readonly windowMs: number;
  /** Distinct reporters within the window that withhold a peer from everyone. */
  readonly quorum: number;
}

/** Ten minutes: long enough that a bad parent is not re-offered to each newcomer, short enough to forgive a repaired one. */
export const DEFAULT_REPORT_RULES: ReportRules = { windowMs: 10 * 60_000, quorum: 2 };

/** Reports kept per task at most; past it, new ones are dropped (old ones expire). */
export const MAX_REPORTS_PER_TASK = 512;

export interface ReportWeighing {
  /** Peers withheld from everyone: not offered as parents, no back-to-source lease. */
  readonly withheld: ReadonlySet<string>;
  /** The peers `reporter` reported within the window (never offered back to it). */
  reportedBy(reporter: string): ReadonlySet<string>;
  /** Reports past the window, to be forgotten. */
  readonly expired: readonly ParentReport[];
}

/** Weighs a task's reports at `now`. A peer reporting itself counts for nothing. */
export function weighReports(reports: readonly ParentReport[], now: number, rules: ReportRules = DEFAULT_REPORT_RULES): ReportWeighing {
  const reporters = new Map<string, Set<string>>();
  const byReporter = new Map<string, Set<string>>();
  const expired: ParentReport[] = [];
  for (const report of reports) {
    if (now - report.at > rules.windowMs) {
      expired.push(report);
      continue;
    }
    if (report.reporter === report.reported) continue;
    addTo(reporters, report.reported, report.reporter);
    addTo(byReporter, report.reporter, report.reported);
  }
  const withheld = new Set([...reporters].filter(([, who]) => who.size >= rules.quorum).map(([peer]) => peer));
  return { withheld, reportedBy: (reporter) => byReporter.get(reporter) ?? new Set(), expired };
}

/**
 * The new reports one announce adds: only about peers registered for the task
 * (`registered`), never about the reporter itself, and none past the task's cap.
 */
export function admitReports(reporter: string, named: readonly string[], registered: ReadonlySet<string>, now: number, stored: number): ParentReport[] {
  const room = Math.max(0, MAX_REPORTS_PER_TASK - stored);
  return [...new Set(named)]
    .filter((peer) => peer !== reporter && registered.has(peer))
    .slice(0, room)
    .map((reported) => ({ reported, reporter, at: now }));
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key) ?? new Set<string>();
  set.add(value);
  map.set(key, set);
}
