import { spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MAYFLY_BIN, type AgentProcess } from './agent-process.ts';
import type { LocalStack } from './local-stack.ts';

/** One agent's part of the tree demo. */
export interface TreeAgentReport {
  readonly agent: string;
  readonly exitCode: number | null;
  readonly files: number;
  readonly bytes: number;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
  readonly seconds: number;
  /** Every file's sha256 matches what was uploaded. */
  readonly verified: boolean;
}

export interface TreeDemoReport {
  readonly url: string;
  readonly files: number;
  readonly treeBytes: number;
  /** Counted by the proxy in front of the S3-compatible server. */
  readonly originBytes: number;
  readonly agents: TreeAgentReport[];
}

/**
 * `npm start -- --tree`: uploads a small model tree (config, tokenizer, three shards of
 * `shardMiB`) and has every agent pull it at once with `mayfly get -r`, each into its own
 * folder, then checks every file.
 */
export async function treeDemo(stack: LocalStack, agents: readonly AgentProcess[], shardMiB = 16): Promise<TreeDemoReport> {
  const prefix = 'models/demo-model/';
  const tree = new Map<string, Buffer>([
    ['config.json', Buffer.from(JSON.stringify({ architectures: ['DemoForCausalLM'], hidden_size: 1024, num_hidden_layers: 8 }, null, 2))],
    ['generation_config.json', Buffer.from('{"max_new_tokens": 256}\n')],
    ['tokenizer/tokenizer.json', randomBytes(48 * 1024)],
    ['tokenizer/special_tokens_map.json', Buffer.from('{"bos_token": "<s>", "eos_token": "</s>"}\n')],
    ...[1, 2, 3].map((i): [string, Buffer] => [`model-0000${i}-of-00003.safetensors`, randomBytes(shardMiB * 1024 * 1024)]),
  ]);
  for (const [path, body] of tree) await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: `${prefix}${path}`, Body: body }));
  const url = `s3://${stack.bucket}/${prefix}`;
  const sha = (body: Buffer) => createHash('sha256').update(body).digest('hex');
  const before = stack.origin.bytesOut();
  const reports = await Promise.all(
    agents.map(async (agent) => {
      const dir = join(stack.root, 'tree-demo', agent.name);
      const { code, stdout } = await run(['get', url, '-r', '-o', dir, '--json'], agent.apiUrl);
      const summary = (code === 0 ? JSON.parse(stdout) : {}) as { files?: number; bytes?: number; bytesFromPeers?: number; bytesFromOrigin?: number; seconds?: number };
      let verified = code === 0;
      for (const [path, body] of tree) verified &&= (await readFile(join(dir, path)).then(sha, () => '')) === sha(body);
      return { agent: agent.name, exitCode: code, files: summary.files ?? 0, bytes: summary.bytes ?? 0, bytesFromPeers: summary.bytesFromPeers ?? 0, bytesFromOrigin: summary.bytesFromOrigin ?? 0, seconds: summary.seconds ?? 0, verified };
    }),
  );
  const treeBytes = [...tree.values()].reduce((sum, body) => sum + body.length, 0);
  return { url, files: tree.size, treeBytes, originBytes: stack.origin.bytesOut() - before, agents: reports };
}

export function printTreeReport(report: TreeDemoReport): void {
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log('agent        files  seconds   from peers MiB  from S3 MiB  verified');
  for (const agent of report.agents) {
    console.log(`${agent.agent.padEnd(12)} ${String(agent.files).padStart(5)}  ${agent.seconds.toFixed(2).padStart(7)}  ${mib(agent.bytesFromPeers).padStart(15)}  ${mib(agent.bytesFromOrigin).padStart(11)}  ${agent.verified ? 'ok' : `FAILED (exit ${agent.exitCode})`}`);
  }
  console.log(`\ntree ${report.files} files, ${mib(report.treeBytes)} MiB; S3 served ${mib(report.originBytes)} MiB (${(report.originBytes / report.treeBytes).toFixed(2)} × the tree) to ${report.agents.length} agents`);
}

function run(args: readonly string[], api: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAYFLY_BIN, ...args], { env: { ...process.env, MAYFLY_API: api }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}
