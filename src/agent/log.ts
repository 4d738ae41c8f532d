/** Structured logging for the agent: one JSON object a line, carrying the ARNs it concerns. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

/** A logger writing JSON lines to `write` (stderr by default) at or above `level`. */
export function jsonLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = LEVELS[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    const rec: LogFields = { time: new Date().toISOString(), level: lvl, msg, component: 'agent', ...fields };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = { name: v.name, message: v.message };
    write(JSON.stringify(rec) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** A logger that drops everything; the default in tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
