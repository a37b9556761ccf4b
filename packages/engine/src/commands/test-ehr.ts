/**
 * `ecgcad test-ehr [--port N]`: the fhir-writer test EHR (Medplum FHIR router, in memory, R4 validation, fault
 * switches) for demos and local runs. Not for patient data: everything is lost on exit.
 */
import { startTestEhr } from '@ecgcad/fhir-writer';
import type { Command } from 'commander';
import { parsePort } from './serve.js';

export function register(program: Command): void {
  program
    .command('test-ehr')
    .description('start an in-memory FHIR R4 test EHR (for demos; data is lost on exit)')
    .option('-p, --port <port>', 'TCP port (default 8103; 0 picks a free one)', parsePort)
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .action(async (flags: { port?: number; host?: string }) => {
      const ehr = await startTestEhr({ port: flags.port ?? 8103, host: flags.host ?? '127.0.0.1' });
      process.stdout.write(`test EHR listening: FHIR base ${ehr.url} (in memory; Ctrl-C stops it)\n`);
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
