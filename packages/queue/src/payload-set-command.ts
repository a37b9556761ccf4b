/**
 * A Redis SET whose value goes to the socket without a copy. ioredis writes a command that has a Buffer argument by
 * copying every part into one new Buffer (Command.toWritable); for a payload that is a fresh allocation of its size
 * (about 120 KB per ECG) on every write, and measured half the client CPU of the SET. This command corks the socket,
 * writes the parts before the value, the value's own bytes and the rest, and lets the socket send them as one
 * writev.
 */
import { Command } from 'ioredis';

/** The socket ioredis hands a command to write itself on (net.Socket or tls.TLSSocket). */
interface CommandSocket {
  cork(): void;
  uncork(): void;
  write(chunk: string | Uint8Array): boolean;
}

/** A command argument: ioredis leaves keys as strings (or Buffers, with a Buffer key prefix) and values as given. */
type Argument = string | number | Buffer;

/**
 * `SET key value ...options` with the value written as it is. Only for a connection that writes commands straight to
 * its socket: in a pipeline, or with auto-pipelining, ioredis puts what toWritable returns into a buffer while this
 * would already have written the value, out of order (RedisPayloadStore checks).
 */
export class PayloadSetCommand extends Command {
  /** `keyPrefix`: the connection's, which ioredis puts before the key of every command it builds itself. */
  constructor(key: string, value: Buffer, options: string[], keyPrefix?: string) {
    super('set', [key, value, ...options], { replyEncoding: 'utf8', ...(keyPrefix ? { keyPrefix } : {}) });
  }

  /**
   * Writes RESP `*N $len arg ...` with each Buffer argument as its own write, the socket corked until the next tick:
   * ioredis writes the returned tail at once, and the commands it writes after this one in the same tick join the
   * same writev, in order.
   */
  override toWritable(target: object): string {
    const socket = target as CommandSocket;
    socket.cork();
    process.nextTick(() => socket.uncork());
    let text = `*${this.args.length + 1}\r\n$${this.name.length}\r\n${this.name}\r\n`;
    for (const arg of this.args as Argument[]) {
      if (Buffer.isBuffer(arg)) {
        socket.write(`${text}$${arg.length}\r\n`);
        if (arg.length > 0) socket.write(arg);
        text = '\r\n';
      } else {
        const value = String(arg);
        text += `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
      }
    }
    return text;
  }
}
