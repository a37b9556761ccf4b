import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseStages } from './serve.js';

describe('parseStages', () => {
  it('reads none as a feed-only process and a list in pipeline order', () => {
    expect(parseStages('none')).toEqual([]);
    expect(parseStages('write,ingest')).toEqual(['ingest', 'write']);
    expect(parseStages('ingest, infer,write')).toEqual(['ingest', 'infer', 'write']);
  });

  it('refuses a name that is not a stage', () => {
    expect(() => parseStages('ingest,decode')).toThrow(InvalidArgumentError);
    expect(() => parseStages('')).toThrow(InvalidArgumentError);
  });
});
