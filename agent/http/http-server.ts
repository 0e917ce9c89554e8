import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectionCap } from './connection-cap.ts';

/** Headers past this size get 431 from Node before any handler runs. */
const MAX_HEADER_BYTES = 16 * 1024;

/** One of the agent's listeners (peer API, local API, S3 endpoint): start, learn the port, stop. */
export class HttpListener {
  private server?: Server;

  constructor(private readonly handler: RequestListener, private readonly options: { host: string; port: number; keepAliveMs?: number; cap?: ConnectionCap }) {}

  async start(): Promise<number> {
    const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, this.handler);
    if (this.options.keepAliveMs) server.keepAliveTimeout = this.options.keepAliveMs;
    this.options.cap?.attach(server);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, resolve);
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
