/**
 * One socket write per event-loop turn on a Redis connection. ioredis writes each command to its socket as it is
 * issued, and each write is a syscall: the ECGs of one infer batch finish in the same turn, and their BullMQ
 * moveToFinished scripts, payload reads and drift counts each cost one. Corking the socket at the turn's first write
 * and uncorking it at the turn's end (process.nextTick, which runs once the turn's promise callbacks are done)
 * sends those commands in one writev: the same bytes in the same order, so Redis sees exactly what it saw before,
 * and nothing waits on a timer. Unlike ioredis' autoPipelining this leaves commands, replies and errors to ioredis
 * as they are; it only changes how many syscalls carry the bytes.
 */
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

/** Connections and sockets already coalesced. */
const coalesced = new WeakSet<object>();

/** Coalesces the writes of each turn on `redis`'s socket, now and after every reconnect. Idempotent. */
export function coalesceWrites(redis: Redis): void {
  if (coalesced.has(redis)) return;
  coalesced.add(redis);
  const wrap = (): void => {
    const stream = (redis as unknown as { stream?: Socket }).stream;
    if (!stream || coalesced.has(stream)) return;
    coalesced.add(stream);
    const write = stream.write;
    let corked = false;
    const uncork = (): void => {
      corked = false;
      stream.uncork();
    };
    stream.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(uncork);
      }
      return write.apply(this, args);
    } as Socket['write'];
  };
  wrap();
  redis.on('connect', wrap);
}
