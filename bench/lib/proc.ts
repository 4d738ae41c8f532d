/** Reading other processes' figures from Linux /proc: CPU time, resident memory, children. */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let clockTicksPerSecond: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on practically every Linux). */
function clockTicks(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** The fields of /proc/<pid>/stat after the command name, which may itself hold spaces. */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU time the process has used so far, in ms; undefined when it is gone. */
export function cpuTimeMs(pid: number): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  // After the name: state(0) ppid(1) ... utime(11) stime(12).
  return ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks();
}

/** VmRSS from /proc/<pid>/status in bytes; undefined when the process is gone. */
export function residentBytes(pid: number): number | undefined {
  return statusKilobytes(pid, 'VmRSS');
}

/** VmHWM from /proc/<pid>/status: the most resident memory the process has had, in bytes. */
export function peakResidentBytes(pid: number): number | undefined {
  return statusKilobytes(pid, 'VmHWM');
}

/** One "<field>: <n> kB" line of /proc/<pid>/status in bytes; undefined when the process is gone. */
function statusKilobytes(pid: number, field: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * Memory only this process holds (Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup) in
 * bytes: what it costs beyond pages shared with other processes, such as the node binary's code.
 * Undefined when the process is gone or the kernel has no smaps_rollup (before Linux 4.14).
 */
export function privateBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
  let kb = 0;
  for (const m of text.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+)\s+kB$/gm)) kb += Number(m[1]);
  return kb * 1024;
}

/** The live processes whose parent is `ppid`, with their command lines. */
export function childProcesses(ppid: number): { pid: number; cmdline: string[] }[] {
  const out: { pid: number; cmdline: string[] }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const f = statFields(pid);
    if (!f || Number(f[1]) !== ppid) continue;
    try {
      out.push({ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // Exited between the two reads.
    }
  }
  return out;
}

/**
 * Bytes the process has passed to write-like and read-like system calls so far (`wchar`, `rchar`
 * of /proc/<pid>/io: files and sockets alike, whether or not they reached the disk); undefined when
 * it is gone.
 */
export function ioBytes(pid: number): { read: number; written: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return undefined;
  }
  const read = /^rchar:\s+(\d+)$/m.exec(text);
  const written = /^wchar:\s+(\d+)$/m.exec(text);
  return read && written ? { read: Number(read[1]), written: Number(written[1]) } : undefined;
}
