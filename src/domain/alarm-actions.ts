/**
 * What Application Auto Scaling reads of CloudWatch metric alarms: the alarms whose AlarmActions
 * name a scaling policy, their state and the metric they watch. The CloudWatch API (metrics)
 * writes the alarms under `cloudwatch/alarms/` in their DescribeAlarms wire shape (MetricAlarm,
 * PascalCase, timestamps as epoch seconds) and moves their StateValue; this module only reads them.
 */
import type { DomainContext } from './context.js';

/** Where the CloudWatch API keeps its metric alarms, one record per alarm name. */
export const ALARMS_PREFIX = 'cloudwatch/alarms/';

/** The part of a MetricAlarm record that step scaling acts on. */
export interface AlarmView {
  AlarmName: string;
  AlarmArn?: string;
  AlarmActions: string[];
  StateValue: string;
  /** When StateValue last changed, epoch seconds. */
  StateUpdatedTimestamp?: number;
  Threshold?: number;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: string }[];
  /** Seconds. */
  Period?: number;
}

/** Every alarm that names at least one action, as stored. Malformed records are skipped. */
export async function listAlarmsWithActions(ctx: DomainContext): Promise<AlarmView[]> {
  const out: AlarmView[] = [];
  for (const e of await ctx.store.list<Partial<AlarmView>>(ALARMS_PREFIX)) {
    const a = e.value;
    if (typeof a.AlarmName !== 'string' || typeof a.StateValue !== 'string' || !Array.isArray(a.AlarmActions) || a.AlarmActions.length === 0) continue;
    out.push(a as AlarmView);
  }
  return out;
}
