/**
 * Runs one `ecgcad` sub-command in-process for unit tests: registers it on a fresh commander program, captures
 * stdout and stderr, and reports the exit code the command set (commander's own argument errors included).
 */
import { Command } from 'commander';
import { vi } from 'vitest';

export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

export async function runSubcommand(
  register: (program: Command) => void,
  name: string,
  args: string[],
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
  const program = new Command('ecgcad').exitOverride();
  register(program);
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'ecgcad', name, ...args]);
  } catch (e) {
    // exitOverride turns commander's own argument errors into exceptions.
    err.push(String((e as Error).message));
    process.exitCode = (e as { exitCode?: number }).exitCode ?? 1;
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = undefined;
  vi.restoreAllMocks();
  return { stdout: out.join(''), stderr: err.join(''), exitCode };
}
