/**
 * One socket write per tick for a Redis connection. ioredis writes each command to its socket as it is sent, and a
 * socket that is not corked makes each write its own system call. The stages sharing a connection send their
 * commands from one continuation after another (the write stage's payload DEL, then BullMQ's completion of the job;
 * the completions of a batch's jobs), so at full blast most ticks wrote two or three small commands one call each.
 * A loopback or network write is one of the dearest things the engine does per ECG (the kernel runs the receiver's
 * side of it too), so the socket is corked at a tick's first write and uncorked on the next tick: the commands of
 * one tick leave as one writev, in the order they were sent. Replies are unchanged, and nothing waits longer than
 * the rest of its own tick.
 */
import type { Redis } from 'ioredis';

/** The part of the socket (net.Socket or tls.TLSSocket) the coalescing uses. */
interface CorkableSocket {
  cork(): void;
  uncork(): void;
  write(...args: unknown[]): boolean;
}

/** Sockets already coalescing (a connection's `connect` event fires again after each reconnect, on a new socket). */
const coalescing = new WeakSet<object>();

function coalesce(socket: CorkableSocket): void {
  if (coalescing.has(socket)) return;
  coalescing.add(socket);
  const write = socket.write;
  let corked = false;
  const release = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: CorkableSocket, ...args: unknown[]): boolean {
    if (!corked) {
      corked = true;
      this.cork();
      process.nextTick(release);
    }
    return write.apply(this, args);
  };
}

/**
 * Makes `redis` write the commands of each tick to its socket in one system call, now and after every reconnect.
 * For connections that send commands, not for a blocking one (BullMQ's own, which waits in one command at a time).
 */
export function coalesceWrites(redis: Redis): void {
  const attach = (): void => {
    const socket = (redis as unknown as { stream?: CorkableSocket }).stream;
    if (socket && typeof socket.cork === 'function') coalesce(socket);
  };
  attach();
  redis.on('connect', attach);
}
