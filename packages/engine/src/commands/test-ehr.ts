/**
 * `ecgcad test-ehr [--port N] [--app-url URL]`: the fhir-writer test EHR (Medplum FHIR router, in memory, R4
 * validation, fault switches) for demos and local runs. Not for patient data: everything is lost on exit.
 * `--app-url` registers the ecgcad app (SMART App Launch, public client with PKCE) so a person can launch it from
 * the test EHR's launcher page; `--client-id/--client-secret` let the engine write results into it meanwhile.
 */
import { smartAppOptions, startTestEhr } from '@ecgcad/fhir-writer';
import type { Command } from 'commander';
import { parsePort } from './serve.js';

interface TestEhrFlags {
  port?: number;
  host?: string;
  appUrl?: string;
  appClientId?: string;
  patient?: string[];
  clientId?: string;
  clientSecret?: string;
}

export function register(program: Command): void {
  program
    .command('test-ehr')
    .description('start an in-memory FHIR R4 test EHR (for demos; data is lost on exit)')
    .option('-p, --port <port>', 'TCP port (default 8103; 0 picks a free one)', parsePort)
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option(
      '--app-url <url>',
      'register the ecgcad app served there (e.g. http://127.0.0.1:8080/app/) for SMART launch',
    )
    .option('--app-client-id <id>', 'client id of the app (default ecgcad-viewer, as config app.clientId)')
    .option('--patient <system|value...>', 'create Patients with these identifiers at start')
    .option('--client-id <id>', 'a client_credentials client for the engine to write with (with --client-secret)')
    .option('--client-secret <secret>', 'its secret')
    .action(async (flags: TestEhrFlags) => {
      const smart = flags.appUrl ? smartAppOptions(flags.appUrl, flags.appClientId) : undefined;
      const patients = (flags.patient ?? []).map((p) => {
        const bar = p.lastIndexOf('|');
        return bar < 0 ? { value: p } : { system: p.slice(0, bar), value: p.slice(bar + 1) };
      });
      const writer =
        flags.clientId && flags.clientSecret ? [{ clientId: flags.clientId, secret: flags.clientSecret }] : undefined;
      const ehr = await startTestEhr({
        port: flags.port ?? 8103,
        host: flags.host ?? '127.0.0.1',
        patients,
        ...(smart ? { smart } : {}),
        ...(writer ? { auth: { clients: writer } } : {}),
      });
      process.stdout.write(`test EHR listening: FHIR base ${ehr.url} (in memory; Ctrl-C stops it)\n`);
      if (smart) process.stdout.write(`SMART launcher: ${ehr.origin}/smart/launcher\n`);
      const stop = (): void => {
        ehr.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
