/** Runs the app's timer functions on their NCRONTAB schedules, as the Functions host does. */
import { SETTING_DEFAULTS } from '../shared/config';
import type { Registration } from './functionsCore';
import { newInvocationContext } from './httpAdapter';
import { NcrontabSchedule } from './ncrontab';

/** setTimeout's longest delay; longer waits are taken in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface ScheduledTimer {
  readonly name: string;
  readonly schedule: string;
  next: Date;
}

/** `%NAME%` in a binding is the app setting NAME: from the environment, else its documented default. */
export function resolveSetting(value: string): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const resolved = process.env[name] || (SETTING_DEFAULTS as Record<string, string>)[name];
    if (!resolved) throw new Error(`the app setting ${name} is not set`);
    return resolved;
  });
}

export function startTimers(registrations: readonly Registration[]): { timers: ScheduledTimer[]; stop(): void } {
  const handles = new Set<NodeJS.Timeout>();
  const timers = registrations
    .filter((r) => r.trigger.type === 'timerTrigger')
    .map((registration) => {
      const expression = resolveSetting(registration.trigger.schedule ?? '');
      const schedule = NcrontabSchedule.parse(expression);
      const timer: ScheduledTimer = { name: registration.name, schedule: expression, next: schedule.next(new Date()) };
      let last: Date | undefined;
      let running = false;
      const arm = () => {
        const handle = setTimeout(
          () => {
            handles.delete(handle);
            if (Date.now() < timer.next.getTime()) return arm();
            void fire();
          },
          Math.min(MAX_DELAY_MS, Math.max(0, timer.next.getTime() - Date.now())),
        );
        handles.add(handle);
      };
      const fire = async () => {
        const due = timer.next;
        timer.next = schedule.next(new Date());
        arm();
        const context = newInvocationContext(registration.name);
        if (running) return context.warn(`skipped the run due at ${due.toISOString()}: the previous run is still going`);
        running = true;
        try {
          const status = { last: (last ?? due).toISOString(), next: timer.next.toISOString(), lastUpdated: new Date().toISOString() };
          await registration.handler(
            { isPastDue: Date.now() - due.getTime() > 1000, schedule: { adjustForDST: false }, scheduleStatus: status },
            context,
          );
        } catch (error) {
          context.error('the timer function failed:', error);
        } finally {
          last = due;
          running = false;
        }
      };
      arm();
      return timer;
    });
  return {
    timers,
    stop() {
      for (const handle of handles) clearTimeout(handle);
      handles.clear();
    },
  };
}
