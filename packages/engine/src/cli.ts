#!/usr/bin/env node
/**
 * The `ecgcad` command. Each sub-command lives in ./commands/<name>.ts and exports `register(program)`.
 * With no arguments it runs the demo (what `npm start` does): synthetic ECGs through the whole pipeline.
 */
import { EcgcadError } from '@ecgcad/ecg';
import { applyEngineHeapSettings } from '@ecgcad/ingest';
import { Command } from 'commander';
import * as calibrate from './commands/calibrate.js';
import * as cohort from './commands/cohort.js';
import * as dlq from './commands/dlq.js';
import * as evaluate from './commands/evaluate.js';
import * as inspect from './commands/inspect.js';
import * as monitor from './commands/monitor.js';
import * as ptp from './commands/ptp.js';
import * as run from './commands/run.js';
import * as score from './commands/score.js';
import * as serve from './commands/serve.js';
import * as shadow from './commands/shadow.js';
import * as status from './commands/status.js';
import * as synth from './commands/synth.js';
import * as testEhr from './commands/test-ehr.js';
import * as worker from './commands/worker.js';

// Before any record is decoded: glibc then keeps freed lead buffers for reuse instead of trimming them away, and V8
// lets the old generation grow further between full collections, which otherwise follow each other closely.
applyEngineHeapSettings();

const program = new Command('ecgcad')
  .description('AI-ECG coronary risk integration engine: DICOM / HL7 aECG in, FHIR R4 out.')
  .version('0.1.0')
  .showHelpAfterError()
  .action(async () => {
    const summary = await run.runDemo({});
    if (summary.refused + summary.failed > 0) process.exitCode = 1;
  });

// Sub-commands register themselves here, one import each.
const commands: Array<{ register(program: Command): void }> = [
  run,
  serve,
  worker,
  status,
  dlq,
  testEhr,
  inspect,
  synth,
  score,
  cohort,
  calibrate,
  evaluate,
  ptp,
  monitor,
  shadow,
];
for (const command of commands) command.register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Typed errors carry patient-free messages meant for the operator; anything else is a bug: show its stack.
  if (err instanceof EcgcadError) {
    process.stderr.write(`ecgcad: ${err.message}\n`);
    process.exitCode = err.code === 'INVALID_CONFIG' ? 2 : 1;
  } else {
    throw err;
  }
}
