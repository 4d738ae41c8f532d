/**
 * What Application Auto Scaling reads of CloudWatch metric alarms (alarms.ts): the alarms whose
 * AlarmActions name something, with their state and the metric they watch. Step scaling policies
 * run while an alarm naming their ARN is in ALARM.
 */
import { listAlarms, type AlarmRecord } from './alarms.js';
import type { DomainContext } from './context.js';

/** An alarm with at least one action. */
export type AlarmView = AlarmRecord & { AlarmActions: string[] };

/** Every alarm that names at least one action, in name order. */
export async function listAlarmsWithActions(ctx: DomainContext): Promise<AlarmView[]> {
  return (await listAlarms(ctx)).map((e) => e.value).filter((a): a is AlarmView => (a.AlarmActions?.length ?? 0) > 0);
}
