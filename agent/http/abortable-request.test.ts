import { getEventListeners } from 'node:events';
import { Agent, createServer, request, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { abortableRequest } from './abortable-request.ts';

/** A keep-alive agent that counts the errors its sockets emit (the listener itself makes them handled, so they are counted, not fatal). */
class CountingAgent extends Agent {
  socketErrors: Error[] = [];
  readonly ports: number[] = [];
  override createConnection(...args: Parameters<Agent['createConnection']>): ReturnType<Agent['createConnection']> {
    const socket = super.createConnection(...args) as Socket;
    socket.on('error', (error) => this.socketErrors.push(error));
    socket.on('connect', () => this.ports.push(socket.localPort!));
    return socket;
  }
}

describe('abortableRequest', () => {
  let server: Server;
  let url: string;
  let agent: CountingAgent;
  const held: ServerResponse[] = [];

  beforeEach(async () => {
    agent = new CountingAgent({ keepAlive: true, maxSockets: 1 });
    server = createServer((req, res) => {
      if (req.url === '/slow-headers') return void held.push(res);
      if (req.url === '/slow-body') {
        res.writeHead(200, { 'content-length': '10' });
        res.write('12345');
        return void held.push(res);
      }
      res.end('whole');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const res of held.splice(0)) res.destroy();
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('an abort before the response rejects with an AbortError (cause: the reason) and puts no error on the socket', async () => {
    const controller = new AbortController();
    const answer = abortableRequest(request, `${url}/slow-headers`, { agent, signal: controller.signal });
    const reason = new Error('parent dropped');
    setTimeout(() => controller.abort(reason), 50);
    // Named as node's own, so metrics count it as an abort, not as a failed transfer.
    await expect(answer).rejects.toMatchObject({ name: 'AbortError', cause: reason, message: expect.stringContaining('parent dropped') });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(agent.socketErrors).toEqual([]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('an abort during the body ends reading it with an error and puts no error on the socket', async () => {
    const controller = new AbortController();
    const res = await abortableRequest(request, `${url}/slow-body`, { agent, signal: controller.signal });
    const read = (async () => {
      for await (const chunk of res) if (String(chunk) === '12345') controller.abort();
    })();
    await expect(read).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(agent.socketErrors).toEqual([]);
  });

  it('a signal that aborts after the response is whole leaves the kept-alive socket to the next request', async () => {
    const controller = new AbortController();
    const first = await abortableRequest(request, `${url}/`, { agent, signal: controller.signal });
    let text = '';
    for await (const chunk of first) text += String(chunk);
    expect(text).toBe('whole');
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const second = await abortableRequest(request, `${url}/`, { agent });
    text = '';
    for await (const chunk of second) text += String(chunk);
    expect(text).toBe('whole');
    expect(agent.ports).toHaveLength(1); // one connection, reused
    expect(agent.socketErrors).toEqual([]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('an already aborted signal sends nothing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(abortableRequest(request, `${url}/`, { agent, signal: controller.signal })).rejects.toThrow('gone');
    expect(agent.ports).toHaveLength(0);
  });

  it('no byte within the idle timeout rejects with the caller\'s error', async () => {
    const answer = abortableRequest(request, `${url}/slow-headers`, { agent, idleTimeoutMs: 100, onTimeout: () => new Error('no answer in 100 ms') });
    await expect(answer).rejects.toThrow('no answer in 100 ms');
    expect(agent.socketErrors).toEqual([]);
  });
});
