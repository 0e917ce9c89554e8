import { spawn } from 'node:child_process';
import { MAYFLY_BIN } from './agent-process.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs the real `mayfly` CLI as its own process; `closeStdoutAfter` hangs up like `| head -c N`. */
export function runMayfly(args: readonly string[], env: NodeJS.ProcessEnv, closeStdoutAfter?: number): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAYFLY_BIN, ...args], { env: { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (closeStdoutAfter !== undefined && size >= closeStdoutAfter) child.stdout.destroy();
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout: Buffer.concat(chunks), stderr }));
  });
}
