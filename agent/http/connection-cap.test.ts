import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectionCap, defaultConnectionTotal } from './connection-cap.ts';

/** A socket stand-in: an address, destroy(), and 'close'. */
function fakeSocket(remoteAddress: string): Socket & { destroyed: boolean } {
  const socket = new EventEmitter() as EventEmitter & { remoteAddress: string; destroyed: boolean; destroy(): void };
  socket.remoteAddress = remoteAddress;
  socket.destroyed = false;
  socket.destroy = () => {
    socket.destroyed = true;
  };
  return socket as unknown as Socket & { destroyed: boolean };
}

describe('ConnectionCap', () => {
  const setup = (total: number, perAddress: number) => {
    const server = new EventEmitter();
    const reports: Array<{ refused: number; reason: string }> = [];
    const cap = new ConnectionCap({ total, perAddress }, (report) => reports.push(report));
    cap.attach(server as unknown as Server);
    const connect = (address: string) => {
      const socket = fakeSocket(address);
      server.emit('connection', socket);
      return socket;
    };
    return { cap, connect, reports };
  };

  it('refuses connections past the per-address limit, and admits again once one closes', () => {
    const { cap, connect, reports } = setup(10, 2);
    const first = connect('10.0.0.1');
    connect('10.0.0.1');
    expect(connect('10.0.0.1').destroyed).toBe(true);
    expect(connect('10.0.0.2').destroyed).toBe(false);
    expect(reports).toEqual([expect.objectContaining({ refused: 1, reason: 'per-address' })]);
    first.emit('close');
    expect(connect('10.0.0.1').destroyed).toBe(false);
    expect(cap.open).toBe(3);
  });

  it('refuses connections past the total, and reports refusals at most once per gap', () => {
    const { connect, reports } = setup(2, 5);
    connect('a');
    connect('b');
    for (let i = 0; i < 5; i++) expect(connect(`c${i}`).destroyed).toBe(true);
    expect(reports).toHaveLength(1);
    expect(reports[0].reason).toBe('total');
  });

  it('takes half the open-file limit as the default total, at most 4096', () => {
    expect(defaultConnectionTotal('Max open files            512                  512                  files\n')).toBe(256);
    expect(defaultConnectionTotal('Max open files            1048576              1048576              files\n')).toBe(4096);
    expect(defaultConnectionTotal('nothing here')).toBe(4096);
  });
});
