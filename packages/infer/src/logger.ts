/** The little a stage core needs from a logger (pino and console both fit). Never pass patient data in fields. */
export interface InferLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything (the default: a core never writes to the console on its own). */
export const silentLogger: InferLogger = {
  info() {},
  warn() {},
};
