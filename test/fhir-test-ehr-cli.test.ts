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
});
