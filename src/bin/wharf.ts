#!/usr/bin/env node
/** The `wharf` command: `wharf up | server | agent [flags]`. */
import { runAgentCommand } from '../cli/agent.js';
import { UsageError, runServerCommand } from '../cli/server.js';
import { runUpCommand } from '../cli/up.js';

const USAGE = `usage: wharf <command> [flags]
  up       start Docker Engine if needed, the server and one agent, all on this machine
  server   run the API server    (--data-dir DIR --port N --host ADDR --region R --account-id ID)
  agent    run an instance agent (--server URL --cluster NAME --data-dir DIR ...)
`;

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  up: runUpCommand,
  server: runServerCommand,
  agent: runAgentCommand,
};

const [name, ...argv] = process.argv.slice(2);
const command = name ? commands[name] : undefined;
if (!command) {
  process.stderr.write(USAGE);
  process.exit(name === undefined || name === '--help' || name === 'help' ? 0 : 2);
}
command(argv).catch((err: unknown) => {
  // parseArgs reports unknown or malformed flags with codes ERR_PARSE_ARGS_*.
  const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`wharf ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(usage ? 2 : 1);
});
