import type { ChildProcess } from 'node:child_process';

/**
 * Sends `signal` to a child process and resolves once it has exited; SIGKILL after
 * `graceMs`. A frozen (SIGSTOPped) process is woken first so it can hear the signal.
 */
export function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (signal !== 'SIGKILL') child.kill('SIGCONT');
    child.kill(signal);
  });
}
