#!/usr/bin/env node
/** The `wharf` command: `wharf up | server | agent [flags]`. */

const USAGE = `usage: wharf <command> [flags]
  up       start Docker Engine if needed, the server and one agent, all on this machine
  server   run the API server    (--data-dir DIR --port N --host ADDR --region R --account-id ID)
  agent    run an instance agent (--server URL --cluster NAME --data-dir DIR ...; --help for all)
`;

// Each command is loaded only when chosen: an agent process must not carry the server's code
// (SQLite, the API) in its memory.
const commands: Record<string, () => Promise<(argv: string[]) => Promise<void>>> = {
  up: async () => (await import('../cli/up.js')).runUpCommand,
  server: async () => (await import('../cli/server.js')).runServerCommand,
  agent: async () => (await import('../cli/agent.js')).runAgentCommand,
};

const [name, ...argv] = process.argv.slice(2);
const load = name ? commands[name] : undefined;
if (!load) {
  process.stderr.write(USAGE);
  process.exit(name === undefined || name === '--help' || name === 'help' ? 0 : 2);
}
load()
  .then((command) => command(argv))
  .catch((err: unknown) => {
    // parseArgs reports unknown or malformed flags with codes ERR_PARSE_ARGS_*; UsageError is ours.
    const usage = (err as { name?: string }).name === 'UsageError' || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`wharf ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(usage ? 2 : 1);
  });
