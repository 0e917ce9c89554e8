import { stopChild } from './stop-child.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const MAYFLY_BIN = fileURLToPath(new URL('../agent/bin/mayfly.mjs', import.meta.url));

export interface AgentProcessOptions {
  readonly name: string;
  readonly env: NodeJS.ProcessEnv;
  readonly args?: readonly string[];
  /** Where the agent's JSON log lines go (default: dropped). */
  readonly onLog?: (line: string) => void;
  /** Open-file limit for the agent process (ulimit -n), e.g. to test what it does near it. */
  readonly maxOpenFiles?: number;
  /** Scheduling priority (`nice -n`), e.g. so a bench's hosts do not starve the stand-ins for services that run on other machines. */
  readonly niceness?: number;
}

/** A real agent: `mayfly agent` as its own OS process, ports learned from its ready line. */
export class AgentProcess {
  peerPort = 0;
  apiPort = 0;
  /** The agent's S3-compatible endpoint (GetObject, HeadObject). */
  s3Port = 0;
  /** The container registry mirror (0 when off). */
  registryPort = 0;
  private child?: ChildProcess;

  constructor(readonly options: AgentProcessOptions) {}

  get name(): string {
    return this.options.name;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  /** For an S3 client: `new S3Client({ endpoint: agent.s3Url, forcePathStyle: true, … })`. */
  get s3Url(): string {
    return `http://127.0.0.1:${this.s3Port}`;
  }

  /** The registry mirror's base URL (for hosts.toml or a registries.conf mirror). */
  get registryUrl(): string {
    return `http://127.0.0.1:${this.registryPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const niceness = this.options.niceness;
    const argv = [...(niceness ? ['nice', '-n', String(Math.trunc(niceness))] : []), process.execPath, MAYFLY_BIN, 'agent', ...(this.options.args ?? [])];
    const limit = this.options.maxOpenFiles;
    // `exec` (and nice's own exec) keeps the pid the agent's own, so stop() signals the agent and not a shell.
    const [command, ...args] = limit ? ['/bin/sh', '-c', `ulimit -n ${Math.floor(limit)} && exec "$@"`, 'sh', ...argv] : argv;
    const child = spawn(command, args, {
      env: this.options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const logs: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      logs.push(line);
      if (logs.length > 50) logs.shift();
      this.options.onLog?.(line);
    });
    const ready = await new Promise<{ peerPort: number; apiPort: number; s3Port: number; registryPort?: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent ${this.name} did not start in 30 s:\n${logs.join('\n')}`)), 30_000);
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line));
        } catch {
          reject(new Error(`agent ${this.name} printed ${line}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`agent ${this.name} exited with ${code}:\n${logs.join('\n')}`));
      });
    });
    this.peerPort = ready.peerPort;
    this.apiPort = ready.apiPort;
    this.s3Port = ready.s3Port;
    this.registryPort = ready.registryPort ?? 0;
  }

  /** Graceful stop (SIGTERM), or SIGKILL to simulate a crash. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return stopChild(this.child, signal);
  }

}
