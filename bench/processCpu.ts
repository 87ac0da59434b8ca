import fs from 'node:fs';

/** /proc's clock ticks per second (USER_HZ): 100 on Linux, whatever the kernel's own tick rate. */
const TICKS_PER_SECOND = 100;

/** CPU time a process has used on all its threads since it started, user and system, in ms (Linux). */
export function processCpuMs(pid: number): number {
  // The fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** CPU time this process has used since it started, user and system, in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
