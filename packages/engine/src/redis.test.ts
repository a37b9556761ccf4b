import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { redisSecurityOptions, withoutCredentials } from './redis.js';

describe('redisSecurityOptions', () => {
  it('adds nothing for a bare URL', () => {
    expect(redisSecurityOptions('redis://127.0.0.1:6379')).toEqual({});
  });

  it('passes user and password, and turns TLS on for rediss:// with the CA file read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecgcad-redis-tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'PEM');
    const options = redisSecurityOptions({
      url: 'rediss://redis.example.org:6380',
      username: 'ecgcad',
      password: 'secret-password',
      tls: { caFile: join(dir, 'ca.pem'), servername: 'redis.internal' },
    });
    expect(options).toMatchObject({ username: 'ecgcad', password: 'secret-password' });
    expect(String((options.tls as { ca: Buffer }).ca)).toBe('PEM');
    expect((options.tls as { servername: string }).servername).toBe('redis.internal');
    expect(redisSecurityOptions({ url: 'rediss://redis.example.org:6380' }).tls).toEqual({});
  });

  it('refuses TLS files on a plain redis:// URL and names an unreadable file by key', () => {
    expect(() => redisSecurityOptions({ url: 'redis://r:6379', tls: { caFile: '/x' } })).toThrow(ConfigError);
    expect(() => redisSecurityOptions({ url: 'rediss://r:6379', tls: { caFile: '/nonexistent/ca.pem' } })).toThrow(
      /redis\.tls\.caFile: cannot read/,
    );
  });
});

describe('withoutCredentials', () => {
  it('drops user and password and keeps the rest', () => {
    expect(withoutCredentials('rediss://user:pw@redis.example.org:6380/2')).toBe('rediss://redis.example.org:6380/2');
    expect(withoutCredentials('redis://:pw@10.0.0.1:6379')).toBe('redis://10.0.0.1:6379');
    expect(withoutCredentials('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
