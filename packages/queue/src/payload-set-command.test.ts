import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { PayloadSetCommand } from './payload-set-command.js';

/** A socket that records what is written to it, and whether it was corked while written. */
function recordingSocket() {
  const writes: { chunk: string | Uint8Array; corked: boolean }[] = [];
  let corks = 0;
  return {
    writes,
    get corks() {
      return corks;
    },
    cork() {
      corks++;
    },
    uncork() {
      corks--;
    },
    write(chunk: string | Uint8Array) {
      writes.push({ chunk, corked: corks > 0 });
      return true;
    },
  };
}

/** The bytes a command puts on the wire: what it wrote itself, then what it returned for ioredis to write. */
function wireBytes(socket: ReturnType<typeof recordingSocket>, tail: string | Buffer): Buffer {
  return Buffer.concat([...socket.writes.map((w) => Buffer.from(w.chunk)), Buffer.from(tail)]);
}

describe('PayloadSetCommand', () => {
  const value = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
  const cases: [string, string, Buffer, string[], string | undefined][] = [
    ['with EX', 'payload:ecg:1', value, ['EX', '86400'], undefined],
    ['with EX and NX', 'payload:ecg:ü', value, ['EX', '60', 'NX'], undefined],
    ['an empty value', 'payload:empty', Buffer.alloc(0), ['EX', '5'], undefined],
    ['a key prefix of the connection', 'payload:ecg:2', value.subarray(3, 999), ['EX', '9'], 'site-a:'],
  ];

  it.each(cases)(
    'puts on the wire exactly what ioredis writes for the same SET (%s)',
    (_, key, bytes, options, prefix) => {
      const socket = recordingSocket();
      const tail = new PayloadSetCommand(key, bytes, options, prefix).toWritable(socket);
      const reference = new Command('set', [key, bytes, ...options], prefix ? { keyPrefix: prefix } : {}).toWritable(
        {},
      );
      expect(wireBytes(socket, tail)).toEqual(Buffer.from(reference));
    },
  );

  it('writes the value itself, not a copy, corked until the next tick', async () => {
    const socket = recordingSocket();
    new PayloadSetCommand('k', value, ['EX', '1']).toWritable(socket);
    expect(socket.writes.some((w) => w.chunk === value)).toBe(true);
    expect(socket.writes.every((w) => w.corked)).toBe(true);
    expect(socket.corks).toBe(1);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(socket.corks).toBe(0);
  });
});
