/** Helpers shared by the CDK assertion tests. */

/** A syntactically valid digest for synth-only tests; never pulled (no image is built by them). */
export const TEST_BASE_IMAGE = `public.ecr.aws/docker/library/node:22-slim@sha256:${'0'.repeat(64)}`;

/** What the agent's S3 fallback needs on the origins. */
export const FALLBACK_READS = ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket'];

/** Every action an agent host's role holds by default. */
export const HOST_ACTIONS = [
  'lambda:InvokeFunction',
  'lambda:InvokeFunctionUrl',
  'logs:CreateLogStream',
  'logs:DescribeLogStreams',
  'logs:PutLogEvents',
  's3:GetObject',
  ...FALLBACK_READS,
].sort();

/** Resolves a CloudFormation Fn::Join (or Fn::Base64) of plain strings and references into readable text. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(flatten).join(join[0]);
  const base64 = (value as { 'Fn::Base64'?: unknown })['Fn::Base64'];
  if (base64 !== undefined) return flatten(base64);
  return `\${${JSON.stringify(value)}}`;
}
