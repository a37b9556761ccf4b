/**
 * CPU time per thread of this process and of its reaped children, read from Linux /proc, for benches that split a
 * process's CPU into parts (the model run on ONNX Runtime's threads against the engine's own work). Node names
 * every thread `node`, so threads are told apart by when they appeared (see newThreads), not by name.
 *
 * Per thread: `/proc/self/task/<tid>/schedstat` (time on CPU in ns), else utime + stime of `.../stat` (clock ticks).
 * Where /proc is missing (not Linux) every figure is empty or NaN.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of utime/stime (USER_HZ: 100 on every Linux architecture Node runs on). */
const TICKS_PER_SECOND = 100;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The fields of a /proc stat line after the command name (which may hold spaces and parentheses). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** ms of CPU in two clock-tick fields of statFields' result from `first` on (utime + stime, or cutime + cstime). */
function ticksMs(f: string[], first: number): number {
  return ((Number(f[first]) + Number(f[first + 1])) * 1000) / TICKS_PER_SECOND;
}

/** CPU time of one thread of this process so far, ms (NaN when the thread is gone). */
export function threadCpuMs(tid: number): number {
  const schedstat = readText(`/proc/self/task/${tid}/schedstat`);
  if (schedstat) return Number(schedstat.split(' ')[0]) / 1e6;
  const stat = readText(`/proc/self/task/${tid}/stat`);
  if (!stat) return Number.NaN;
  // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 once pid and comm are cut off.
  return ticksMs(statFields(stat), 11);
}

/**
 * How many times one thread of this process has been put on a CPU so far (the third field of
 * /proc/self/task/<tid>/schedstat; NaN without it): each wake-up from a wait counts one, and so does each return after
 * the thread was preempted; each is a dear step on some virtual machines.
 */
export function threadTimeslices(tid: number): number {
  const schedstat = readText(`/proc/self/task/${tid}/schedstat`);
  return schedstat ? Number(schedstat.trim().split(' ')[2]) : Number.NaN;
}

/** The ids of this process's threads now. */
export function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}

/** CPU time of every thread of this process so far, ms, by thread id. */
export function threadCpu(): Map<number, number> {
  const times = new Map<number, number>();
  for (const tid of threadIds()) {
    const ms = threadCpuMs(tid);
    if (Number.isFinite(ms)) times.set(tid, ms);
  }
  return times;
}

/** Threads in `after` that were not in `before`: what a step in between started (a worker, a thread pool). */
export function newThreads(before: Iterable<number>, after: Iterable<number>): Set<number> {
  const known = new Set(before);
  return new Set([...after].filter((tid) => !known.has(tid)));
}

/**
 * CPU used between two threadCpu() snapshots, ms, split into the threads of `part` and the rest. A thread that
 * started in between counts from zero; one that ended in between is lost (its time is gone from /proc).
 */
export function splitCpu(
  before: Map<number, number>,
  after: Map<number, number>,
  part: Set<number>,
): { part: number; rest: number } {
  let inPart = 0;
  let rest = 0;
  for (const [tid, ms] of after) {
    const used = ms - (before.get(tid) ?? 0);
    if (part.has(tid)) inPart += used;
    else rest += used;
  }
  return { part: inPart, rest };
}

/**
 * CPU time of this process's children that have ended and been waited for (cutime + cstime of /proc/self/stat),
 * ms, at 10 ms resolution: the way to count short-lived tools such as storescu.
 */
export function reapedChildrenCpuMs(): number {
  const stat = readText('/proc/self/stat');
  if (!stat) return Number.NaN;
  return ticksMs(statFields(stat), 13);
}

/**
 * CPU time so far of process `pid` (or of this one), all its threads (utime + stime of /proc/<pid>/stat), ms, at
 * 10 ms resolution; NaN where its /proc cannot be read. For a process the bench started but does not run in (a
 * feed-only engine, say).
 */
export function processCpuMs(pid: number | 'self' = 'self'): number {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return Number.NaN;
  return ticksMs(statFields(stat), 11);
}

/**
 * Minor page faults so far of this process (or of process `pid`, where this one may read its /proc), all its threads
 * (minflt, field 10 of /proc/<pid>/stat; NaN without). Each is a trip into the kernel, dear on some virtual machines:
 * a first touch of a fresh page, or a write to a page a fork left shared.
 */
export function minorPageFaults(pid: number | 'self' = 'self'): number {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return Number.NaN;
  return Number(statFields(stat)[7]);
}

/**
 * Read-like and write-like system calls so far of this process (or of process `pid`, where this one may read its
 * /proc), all its threads (syscr and syscw of /proc/<pid>/io: read, readv, recvmsg...; write, writev, sendmsg...; NaN
 * without). On loopback TCP a write also runs the receiver's side of the stack in the writer's system call, and on
 * some virtual machines each call is dear.
 */
export function ioSystemCalls(pid: number | 'self' = 'self'): { reads: number; writes: number } {
  const io = readText(`/proc/${pid}/io`);
  const field = (name: string): number =>
    Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io ?? '')?.[1] ?? Number.NaN);
  return { reads: field('syscr'), writes: field('syscw') };
}
