import { describe, expect, it } from 'vitest';
import { ecgFromAppContext } from './app-context.js';

describe('ecgFromAppContext', () => {
  it('reads the ECG id of a CDS card link, as a JSON string or an object', () => {
    expect(ecgFromAppContext('{"ecg":"3f1c-9a"}')).toBe('3f1c-9a');
    expect(ecgFromAppContext({ ecg: 'abc.1' })).toBe('abc.1');
  });
  it('ignores what is not an ECG id (no context, bad JSON, a path, a number)', () => {
    for (const bad of [undefined, null, '', 'not json', '{"ecg":"../Patient/1"}', '{"ecg":12}', '{"other":"x"}']) {
      expect(ecgFromAppContext(bad)).toBeUndefined();
    }
  });
});
