/**
 * `--freeze-scheduler SECONDS` of bench:swarm: the control host (scheduler and its
 * store) is stopped with SIGSTOP a few seconds into a Mayfly phase and resumed with
 * SIGCONT, as in the degradation issue's case 1 (the swarm must not blame honest
 * parents nor go to S3; origin bytes should stay ≤ 1.1 × the object).
 */
export interface SchedulerFreeze {
  /** Seconds after the pullers' go. */
  readonly afterSeconds: number;
  readonly forSeconds: number;
  /** The control host's pid (read when the freeze starts). */
  readonly pid: () => number | undefined;
}

/** Parses the option's value; undefined when absent. Throws on a value that is not a positive number. */
export function parseFreeze(value: string | undefined, pid: () => number | undefined): SchedulerFreeze | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--freeze-scheduler wants seconds > 0, got ${JSON.stringify(value)}`);
  return { afterSeconds: 4, forSeconds: seconds, pid };
}

/** Runs the freeze from now; resolves once the control host runs again (it always is resumed, even when `signal` aborts). */
export async function runFreeze(freeze: SchedulerFreeze, log: (line: string) => void, signal: AbortSignal): Promise<void> {
  await pause(freeze.afterSeconds * 1000, signal);
  const pid = freeze.pid();
  if (signal.aborted || !pid) return;
  process.kill(pid, 'SIGSTOP');
  log(`  scheduler frozen (SIGSTOP) for ${freeze.forSeconds} s`);
  try {
    await pause(freeze.forSeconds * 1000, signal);
  } finally {
    process.kill(pid, 'SIGCONT');
    log('  scheduler resumed (SIGCONT)');
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
