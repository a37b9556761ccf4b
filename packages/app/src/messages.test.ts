import { describe, expect, it } from 'vitest';
import { problemOf } from './messages.js';

describe('problemOf', () => {
  it('asks to sign in again on a 401 (expired or revoked token)', () => {
    const p = problemOf(Object.assign(new Error('401 Unauthorized\nURL: x'), { status: 401 }));
    expect(p.kind).toBe('session-ended');
    expect(p.signIn).toBe(true);
  });
  it('tells a network failure from a server error and a refusal', () => {
    expect(problemOf(new TypeError('Failed to fetch')).kind).toBe('network');
    expect(problemOf({ status: 503, message: '503' }).kind).toBe('server');
    expect(problemOf({ status: 403, message: '403' }).kind).toBe('forbidden');
  });
  it('says "not signed in" when the page was opened without a launch', () => {
    expect(problemOf(new Error("No 'state' parameter found. Please (re)launch the app.")).kind).toBe('not-launched');
  });
  it('never repeats the error text (which may hold a URL or patient data)', () => {
    const p = problemOf(new Error('boom at Patient/123 https://ehr/fhir'));
    expect(p.kind).toBe('unexpected');
    expect(JSON.stringify(p)).not.toMatch(/Patient\/123|https:/);
  });
});
