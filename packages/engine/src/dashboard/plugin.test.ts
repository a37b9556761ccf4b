import { describe, expect, it } from 'vitest';
import { readOnlyQueues, withoutExternalAssets } from './plugin.js';

describe('withoutExternalAssets', () => {
  it("cuts bull-board's Google Fonts stylesheet and any script from another origin, keeps its own assets", () => {
    const html = [
      '<link href="https://fonts.googleapis.com/css2?family=IBM+Plex+Sans" rel="stylesheet">',
      '<link rel="preconnect" href="//fonts.gstatic.com">',
      '<link href="static/css/main.css" rel="stylesheet">',
      '<script src="https://cdn.example.org/x.js"></script>',
      '<script defer src="static/js/main.js"></script>',
    ].join('\n');
    const out = withoutExternalAssets(html);
    expect(out).not.toMatch(/googleapis|gstatic|cdn\.example/);
    expect(out).toContain('static/css/main.css');
    expect(out).toContain('static/js/main.js');
  });
});

describe('readOnlyQueues', () => {
  it("turns every queue of bull-board's list read-only, without retries", () => {
    const out = JSON.parse(
      readOnlyQueues(JSON.stringify({ queues: [{ name: 'ecg.write', readOnlyMode: false, allowRetries: true }] })),
    );
    expect(out.queues[0]).toEqual({
      name: 'ecg.write',
      readOnlyMode: true,
      allowRetries: false,
      allowCompletedRetries: false,
    });
  });
});
