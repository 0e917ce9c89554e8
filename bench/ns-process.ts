/**
 * A child process running inside a network namespace (`ip netns exec NS ...`,
 * which execs, so the child's pid is the program's own pid). Its first JSON
 * line on stdout with `ready: true` says it is up; later JSON lines are
 * messages. stderr goes to a log file. Every process is registered so a
 * failing benchmark can kill them all synchronously.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const live = new Set<NsProcess>();

export interface NsProcessOptions {
  readonly name: string;
  /** Namespace to run in; undefined runs in the current one. */
  readonly ns?: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  readonly cwd?: string;
  readonly readyTimeoutMs?: number;
  /** Scheduling priority (nice, -20..19) to run at; undefined keeps the bench's own. */
  readonly nice?: number;
}

export class NsProcess {
  readonly messages: Record<string, unknown>[] = [];
  ready?: Record<string, unknown>;
  private child?: ChildProcess;
  private waiters: ((message: Record<string, unknown>) => boolean)[] = [];
  private exited?: Promise<number | null>;

  constructor(readonly options: NsProcessOptions) {}

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<Record<string, unknown>> {
    const { ns, command, args } = this.options;
    const argv = ns ? ['netns', 'exec', ns, command, ...args] : [...args];
    const child = spawn(ns ? 'ip' : command, argv, {
      env: this.options.env,
      cwd: this.options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(this);
    // `ip netns exec` execs the command, so the pid is the program itself.
    if (this.options.nice !== undefined && child.pid) setPriority(child.pid, this.options.nice);
    child.stdin!.on('error', () => {}); // it may exit before reading everything we send
    const log = createWriteStream(this.options.logFile, { flags: 'a' });
    child.stderr!.pipe(log);
    this.exited = new Promise((resolve) => child.once('exit', (code) => {
      live.delete(this);
      resolve(code);
    }));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        log.write(`stdout: ${line}\n`);
        return;
      }
      this.messages.push(message);
      this.waiters = this.waiters.filter((waiter) => !waiter(message));
    });
    this.ready = await this.waitFor((message) => message.ready === true, this.options.readyTimeoutMs ?? 60_000);
    return this.ready;
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(match: (message: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no expected message within ${timeoutMs} ms; log tail:\n${this.logTail()}`)), timeoutMs);
      this.exited!.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited with ${code}; log tail:\n${this.logTail()}`));
      });
      this.waiters.push((message) => {
        if (!match(message)) return false;
        clearTimeout(timer);
        resolve(message);
        return true;
      });
    });
  }

  send(line: string): void {
    this.child?.stdin?.write(`${line}\n`);
  }

  /** User + system CPU seconds the process has used so far (0 once it has exited). */
  cpuSeconds(): number {
    return this.pid ? processCpuSeconds(this.pid) : 0;
  }

  /** The kernel's share of cpuSeconds() (system time: syscalls, and the network stack they run). */
  systemCpuSeconds(): number {
    return this.pid ? processCpuTimes(this.pid).system : 0;
  }

  /** Peak resident set size so far, in bytes (Linux VmHWM). */
  peakRssBytes(): number {
    if (!this.pid) return 0;
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.options.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  async stop(timeoutMs = 5_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }

  killNow(): void {
    try {
      this.child?.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Synchronous last resort for exit and signal handlers. */
export function killAllNsProcesses(): void {
  for (const process of live) process.killNow();
  live.clear();
}

const CLOCK_TICKS = 100;

export function processCpuSeconds(pid: number): number {
  const { user, system } = processCpuTimes(pid);
  return user + system;
}

/** CPU times of a process and its live descendants (the control plane may run DynamoDB Local as a child). */
export function processCpuTimes(pid: number): { user: number; system: number } {
  const total = { user: 0, system: 0 };
  for (const member of [pid, ...descendants(pid)]) {
    const times = ownCpuTimes(member);
    total.user += times.user;
    total.system += times.system;
  }
  return total;
}

function descendants(pid: number): number[] {
  const found: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean)) {
        found.push(Number(child), ...descendants(Number(child)));
      }
    }
  } catch {
    // gone
  }
  return found;
}

function ownCpuTimes(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime + cutime, stime + cstime: children it already reaped (a `mayfly get` that exited) count too.
    return { user: (Number(fields[11]) + Number(fields[13])) / CLOCK_TICKS, system: (Number(fields[12]) + Number(fields[14])) / CLOCK_TICKS };
  } catch {
    return { user: 0, system: 0 };
  }
}
