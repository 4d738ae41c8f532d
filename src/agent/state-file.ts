/**
 * The agent's small persistent state: which container instance it is. A restarted agent re-registers
 * with the saved ARN and so keeps its identity (and re-adopts the containers labelled with it).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface AgentState {
  /** The cluster the ARN was registered in, as configured (name or ARN). */
  cluster: string;
  clusterArn?: string;
  containerInstanceArn: string;
}

export const STATE_FILE_NAME = 'agent-state.json';

/** The saved state, or undefined when there is none yet. A corrupt file is an error, not "none". */
export async function readAgentState(dataDir: string): Promise<AgentState | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, STATE_FILE_NAME), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<AgentState>;
  if (typeof parsed.cluster !== 'string' || typeof parsed.containerInstanceArn !== 'string') {
    throw new Error(`${path.join(dataDir, STATE_FILE_NAME)} is not an agent state file`);
  }
  return parsed as AgentState;
}

/** Writes atomically (temp file + rename), mode 0600, so a crash never leaves half a file. */
export async function writeAgentState(dataDir: string, state: AgentState): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, STATE_FILE_NAME);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}
