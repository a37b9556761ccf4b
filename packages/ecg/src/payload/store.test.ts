import { describe, expect, it } from 'vitest';
import { MemoryPayloadStore, payloadKey } from './store.js';

describe('payloadKey', () => {
  it('is stable, kind-specific and free of the id characters', () => {
    expect(payloadKey('ecg', 'sha256:ab')).toBe(payloadKey('ecg', 'sha256:ab'));
    expect(payloadKey('ecg', 'x')).not.toBe(payloadKey('raw', 'x'));
    expect(payloadKey('ecg', '1.2.3^ext')).toMatch(/^ecg:[0-9a-f]{40}$/);
  });
});

describe('MemoryPayloadStore', () => {
  it('stores a copy, reads it back and deletes it', async () => {
    const store = new MemoryPayloadStore();
    const bytes = Uint8Array.from([1, 2, 3]);
    await store.put('k', bytes);
    bytes[0] = 9;
    expect(Array.from((await store.get('k'))!)).toEqual([1, 2, 3]);
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('putIfAbsent stores only where nothing is', async () => {
    const store = new MemoryPayloadStore();
    expect(await store.putIfAbsent('k', Uint8Array.from([1]))).toBe(true);
    expect(await store.putIfAbsent('k', Uint8Array.from([2]))).toBe(false);
    expect(Array.from((await store.get('k'))!)).toEqual([1]);
  });
});
