import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  ioSystemCalls,
  minorPageFaults,
  newThreads,
  processCpuMs,
  reapedChildrenCpuMs,
  splitCpu,
  threadCpu,
  threadIds,
  threadTimeslices,
} from './proc-cpu.js';

const busy = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe.runIf(process.platform === 'linux')('proc-cpu', () => {
  it('puts a worker thread busy for 300 ms in the new threads and the main thread busy for 200 ms in the rest', async () => {
    const tidsBefore = threadIds();
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.on('message', () => { const end = performance.now() + 300; while (performance.now() < end); parentPort.postMessage('done'); });`,
      { eval: true },
    );
    await new Promise((resolve) => worker.once('online', resolve));
    const model = newThreads(tidsBefore, threadIds());
    expect(model.size).toBeGreaterThanOrEqual(1);
    const before = threadCpu();
    const done = new Promise((resolve) => worker.once('message', resolve));
    worker.postMessage('go');
    busy(200);
    await done;
    const split = splitCpu(before, threadCpu(), model);
    await worker.terminate();
    // Both spin on wall time, so on a loaded machine they get less CPU than that, never more.
    expect(split.part).toBeGreaterThan(30);
    expect(split.part).toBeLessThan(360);
    expect(split.rest).toBeGreaterThan(20);
    expect(split.rest).toBeLessThan(400);
  });

  it('counts a child process once it has been waited for', async () => {
    const before = reapedChildrenCpuMs();
    await promisify(execFile)(process.execPath, ['-e', 'const e = Date.now() + 300; while (Date.now() < e);']);
    expect(reapedChildrenCpuMs() - before).toBeGreaterThan(20);
  });

  it("counts another process's CPU time by its id: a spinning one far more than an idle one", async () => {
    const child = (code: string) => spawn(process.execPath, ['-e', `${code}; setTimeout(() => {}, 2000);`]);
    const spinning = child('const end = Date.now() + 400; while (Date.now() < end);');
    const idle = child('');
    try {
      await new Promise((resolve) => setTimeout(resolve, 800));
      const spinningMs = processCpuMs(spinning.pid as number);
      expect(spinningMs).toBeGreaterThan(300);
      expect(spinningMs).toBeGreaterThan(processCpuMs(idle.pid as number) + 200);
      expect(processCpuMs()).toBeGreaterThan(0);
    } finally {
      spinning.kill();
      idle.kill();
    }
    expect(processCpuMs(2 ** 22 + 12_345)).toBeNaN(); // above the kernel's largest pid: no such process
  });

  it('counts the minor page faults of touching fresh pages', () => {
    const before = minorPageFaults();
    // 16 MiB is above glibc's mmap threshold: fresh zero pages, each faulted in by its first write.
    const block = Buffer.alloc(16 * 1024 * 1024);
    block.fill(1);
    expect(minorPageFaults() - before).toBeGreaterThan(1000);
    // The same counter read by process id (as bench/feed reads the Redis server's).
    expect(minorPageFaults(process.pid)).toBeGreaterThanOrEqual(before + 1000);
    expect(block[block.length - 1]).toBe(1);
  });

  it('counts each write(2) of this process as one write-like system call', () => {
    const path = join(tmpdir(), `proc-cpu-${process.pid}.tmp`);
    const fd = openSync(path, 'w');
    try {
      const before = ioSystemCalls();
      for (let i = 0; i < 200; i++) writeSync(fd, 'x');
      const after = ioSystemCalls();
      // Other threads (V8's, libuv's) may write meanwhile: at least ours, not many more.
      expect(after.writes - before.writes).toBeGreaterThanOrEqual(200);
      expect(after.writes - before.writes).toBeLessThan(400);
      expect(Number.isFinite(after.reads)).toBe(true);
      // The same counters read by process id (as the benches read another process's).
      expect(ioSystemCalls(process.pid).writes).toBeGreaterThanOrEqual(after.writes);
    } finally {
      closeSync(fd);
      rmSync(path, { force: true });
    }
  });

  it('counts a wake-up of the main thread from each wait as one more timeslice', async () => {
    const before = threadTimeslices(process.pid);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(threadTimeslices(process.pid) - before).toBeGreaterThanOrEqual(20);
  });
});
