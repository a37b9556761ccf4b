#!/usr/bin/env node
/**
 * The `ecgcad` command. Each sub-command lives in ./commands/<name>.ts and exports `register(program)`.
 */
import { Command } from 'commander';
import * as inspect from './commands/inspect.js';
import * as synth from './commands/synth.js';

const program = new Command('ecgcad')
  .description('AI-ECG coronary risk integration engine: DICOM / HL7 aECG in, FHIR R4 out.')
  .version('0.1.0')
  .showHelpAfterError();

// Sub-commands register themselves here, one import each.
const commands: Array<{ register(program: Command): void }> = [inspect, synth];
for (const command of commands) command.register(program);

await program.parseAsync(process.argv);
