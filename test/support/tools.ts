/** Probes for the outside tools some tests drive (dcmtk and the like), for `describe.skipIf` conditions. */
import { execFileSync } from 'node:child_process';

/** True when `command` runs (with `--version` by default) on this machine. */
export function commandPresent(command: string, args: readonly string[] = ['--version']): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
