/**
 * One socket write per turn of the event loop for a Redis connection. ioredis writes each command to its socket as it
 * is sent, and a socket that is not corked makes each write its own system call. The stages sharing a connection
 * send their commands from one continuation after another (the write stage's payload DEL, then BullMQ's completion
 * of the job; the completions of a batch's jobs), and from one I/O callback after another in the same turn (a Redis
 * reply, a C-STORE's last PDU, the EHR's answer), so at full blast a turn wrote several small commands one call each.
 * Each write is a system call whose kernel work includes, on loopback, the receiver's side and waking Redis, so the
 * socket is corked at a turn's first write and uncorked in the turn's check phase (setImmediate), after the I/O
 * callbacks the loop had ready: the commands of one turn leave as one writev, in the order they were sent. Replies
 * are unchanged; a command waits at most for the rest of its turn's callbacks, which ran before Redis could answer it
 * anyway (bench/e2e at full blast, against uncorking on the next tick: Redis round trips 6.2 -> 4.8 per ECG, write
 * system calls 9.1 -> 7.3; docs/PERFORMANCE.md, session 20).
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
      setImmediate(release);
    }
    return write.apply(this, args);
  };
}

/**
 * Makes `redis` write the commands of each event-loop turn to its socket in one system call, now and after every
 * reconnect. A caller that wants a command on its way before a long synchronous step awaits {@link writesLeft}.
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

/**
 * Resolves once the commands sent so far on a coalesced connection have left: after the turn's check phase, where
 * the connection uncorks (its setImmediate was queued at the turn's first write, so before this one). For a caller
 * about to take the thread for a while (a decode) whose command Redis can work on meanwhile.
 */
export function writesLeft(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
