import { stopChild } from './stop-child.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { MAYFLY_BIN } from './agent-process.ts';

export interface ServerProcessOptions {
  readonly service: 'scheduler' | 'manager';
  readonly args?: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Every line the server prints (its JSON logs, and metric lines with --metrics). */
  readonly onLine?: (line: string) => void;
}

/**
 * `mayfly scheduler` or `mayfly manager` as its own OS process (the self-hosted control
 * plane), its address learned from the ready line; a test can freeze it (SIGSTOP) or kill it.
 */
export class ServerProcess {
  url = '';
  /** Every line printed so far (stdout and stderr), oldest first. */
  readonly lines: string[] = [];
  private child?: ChildProcess;

  constructor(readonly options: ServerProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [MAYFLY_BIN, this.options.service, '--port', '0', ...(this.options.args ?? [])], {
      env: this.options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const record = (line: string) => {
      this.lines.push(line);
      if (this.lines.length > 20_000) this.lines.splice(0, 5_000);
      this.options.onLine?.(line);
    };
    createInterface({ input: child.stderr! }).on('line', record);
    const stdout = createInterface({ input: child.stdout! });
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.options.service} did not start in 30 s:\n${this.lines.slice(-30).join('\n')}`)), 30_000);
      stdout.on('line', (line) => {
        record(line);
        if (!line.includes('"ready":true')) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${this.options.service} exited with ${code}:\n${this.lines.slice(-30).join('\n')}`));
      });
    });
  }

  /** SIGSTOP / SIGCONT / … to the server process. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }

}
