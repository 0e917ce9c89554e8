import { LocalStack } from '../local/local-stack.ts';
const stack = await LocalStack.start();
const objs = await Promise.all(Array.from({ length: 12 }, (_, i) => stack.putArtifact(`t/${i}.bin`, 4096, `s${i}`)));
const agent = await stack.startAgent('a');
for (const o of objs.slice(0, 6)) {
  const t = Date.now();
  const r = await fetch(`${agent.apiUrl}/v1/objects?url=${encodeURIComponent(o.url)}`);
  await r.arrayBuffer();
  console.log('seq', r.status, Date.now() - t);
}
const t = Date.now();
await Promise.all(objs.slice(6).map(async (o) => (await fetch(`${agent.apiUrl}/v1/objects?url=${encodeURIComponent(o.url)}`)).arrayBuffer()));
console.log('6 parallel', Date.now() - t);
await stack.stop();
