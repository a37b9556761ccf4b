/** The test EHR runs on its own from the command line (demos): it listens, issues tokens and guards /fhir. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../packages/fhir-writer/src/test-ehr/cli.ts', import.meta.url));

describe('test EHR command line', () => {
  it('starts with a client and a patient, and protects /fhir with its tokens', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', cli, '--port', '0', '--client-id', 'demo', '--client-secret', 'pw', '--patient', 'urn:x|P1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const banner = await new Promise<{ url: string; tokenUrl: string; auth: boolean }>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString())));
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      expect(banner.auth).toBe(true);
      expect((await fetch(`${banner.url}/Patient`)).status).toBe(401);
      const token = (await (
        await fetch(banner.tokenUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from('demo:pw').toString('base64')}`,
          },
          body: 'grant_type=client_credentials&scope=system%2F*.read',
        })
      ).json()) as { access_token: string; expires_in: number };
      expect(token.expires_in).toBe(300);
      const patients = (await (
        await fetch(`${banner.url}/Patient?identifier=urn:x|P1`, {
          headers: { authorization: `Bearer ${token.access_token}` },
        })
      ).json()) as { total: number };
      expect(patients.total).toBe(1);
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);

  it('registers the app with --app-url: SMART configuration, launcher page, EHR launch into the app', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', cli, '--port', '0', '--app-url', 'http://127.0.0.1:8080/app/', '--patient', 'urn:x|P1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const banner = await new Promise<{ url: string; launcher: string; auth: boolean }>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString())));
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      expect(banner.auth).toBe(true);
      const conf = (await (await fetch(`${banner.url}/.well-known/smart-configuration`)).json()) as {
        code_challenge_methods_supported: string[];
      };
      expect(conf.code_challenge_methods_supported).toEqual(['S256']);
      const page = await (await fetch(banner.launcher)).text();
      const link = /href="([^"]+)"/.exec(page)?.[1]?.replaceAll('&#38;', '&') ?? '';
      const launch = await fetch(new URL(link, banner.launcher), { redirect: 'manual' });
      expect(launch.status).toBe(302);
      const to = new URL(launch.headers.get('location') ?? '');
      expect(`${to.origin}${to.pathname}`).toBe('http://127.0.0.1:8080/app/launch.html');
      expect(to.searchParams.get('iss')).toBe(banner.url);
      expect((await fetch(`${banner.url}/Patient`)).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);
});
