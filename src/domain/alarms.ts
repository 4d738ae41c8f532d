/**
 * CloudWatch metric alarms in the state store: one record per alarm under `cloudwatch/alarms/`
 * (small, and written only on configuration or state changes, so a store watch on the prefix sees
 * every transition: Application Auto Scaling acts on them), and their history under
 * `cloudwatch/alarm-history/`. Input has been checked by the API against CloudWatch's rules.
 */
import type { AlarmHistoryItem, MetricAlarm, Tag } from '@aws-sdk/client-cloudwatch';
import { ConflictError, WharfError } from '../model/index.js';
import type { DomainContext, Wire } from './context.js';
import { epochSeconds } from './context.js';

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** A metric alarm as stored and answered (timestamps as epoch seconds). */
export type AlarmRecord = Wire<MetricAlarm> & {
  AlarmName: string;
  AlarmArn: string;
  StateValue: AlarmStateValue;
  StateReason: string;
  StateUpdatedTimestamp: number;
  StateTransitionedTimestamp: number;
  tags: Tag[];
};

export type AlarmHistoryRecord = Wire<AlarmHistoryItem> & { AlarmName: string; Timestamp: number };

/** The alarm configuration PutMetricAlarm writes (everything but state, ARN and timestamps). */
export type AlarmConfiguration = Omit<AlarmRecord,
  'AlarmArn' | 'StateValue' | 'StateReason' | 'StateReasonData' | 'StateUpdatedTimestamp' | 'StateTransitionedTimestamp' |
  'AlarmConfigurationUpdatedTimestamp' | 'EvaluationState'>;

export const ALARMS_PREFIX = 'cloudwatch/alarms/';
const HISTORY_PREFIX = 'cloudwatch/alarm-history/';
/** History items kept per alarm (CloudWatch keeps 30 days; a bound keeps a flapping alarm's history small). */
export const ALARM_HISTORY_LIMIT = 100;

export const alarmKey = (name: string) => `${ALARMS_PREFIX}${encodeURIComponent(name)}`;
const historyPrefixOf = (name: string) => `${HISTORY_PREFIX}${encodeURIComponent(name)}/`;

export class AlarmNotFoundError extends WharfError {
  constructor(message: string) { super('ResourceNotFound', message); }
}

/** Creates the alarm (INSUFFICIENT_DATA, as CloudWatch) or replaces its configuration, keeping its state. */
export async function putMetricAlarm(ctx: DomainContext, config: AlarmConfiguration): Promise<void> {
  const now = epochSeconds(ctx.nowMs());
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await ctx.store.get<AlarmRecord>(alarmKey(config.AlarmName));
    const record: AlarmRecord = existing
      ? {
        ...config, AlarmArn: existing.value.AlarmArn, AlarmConfigurationUpdatedTimestamp: now,
        StateValue: existing.value.StateValue, StateReason: existing.value.StateReason,
        ...(existing.value.StateReasonData !== undefined ? { StateReasonData: existing.value.StateReasonData } : {}),
        StateUpdatedTimestamp: existing.value.StateUpdatedTimestamp, StateTransitionedTimestamp: existing.value.StateTransitionedTimestamp,
        // As CloudWatch: tags given when updating an existing alarm are ignored (TagResource changes them).
        tags: existing.value.tags,
      }
      : {
        ...config, AlarmArn: `arn:${ctx.scope.partition}:cloudwatch:${ctx.scope.region}:${ctx.scope.accountId}:alarm:${config.AlarmName}`,
        AlarmConfigurationUpdatedTimestamp: now, StateValue: 'INSUFFICIENT_DATA', StateReason: 'Unchecked: Initial alarm creation',
        StateUpdatedTimestamp: now, StateTransitionedTimestamp: now,
      };
    try {
      await ctx.store.put(alarmKey(config.AlarmName), record, { expectedModRevision: existing?.modRevision ?? 0 });
    } catch (err) {
      if (err instanceof ConflictError) continue;
      throw err;
    }
    await appendHistory(ctx, {
      AlarmName: config.AlarmName, AlarmType: 'MetricAlarm', Timestamp: now, HistoryItemType: 'ConfigurationUpdate',
      HistorySummary: `Alarm "${config.AlarmName}" ${existing ? 'updated' : 'created'}`,
      HistoryData: JSON.stringify({ type: existing ? 'Update' : 'Create', version: '1.0' }),
    });
    return;
  }
  throw new ConflictError();
}

/** Every alarm, in name order. */
export async function listAlarms(ctx: DomainContext): Promise<{ value: AlarmRecord; modRevision: number }[]> {
  return ctx.store.list<AlarmRecord>(ALARMS_PREFIX);
}

/** Deletes every named alarm and its history, or none when one does not exist. */
export async function deleteAlarms(ctx: DomainContext, names: string[]): Promise<void> {
  const entries = await Promise.all(names.map((n) => ctx.store.get<AlarmRecord>(alarmKey(n))));
  const missing = names.filter((_, i) => entries[i] === undefined);
  if (missing.length > 0) throw new AlarmNotFoundError(`${missing.length} of ${names.length} alarm(s) not found: ${missing.join(', ')}`);
  const history = (await Promise.all(names.map((n) => ctx.store.list(historyPrefixOf(n))))).flat();
  await ctx.store.txn([
    ...entries.map((e, i) => ({ op: 'delete' as const, key: alarmKey(names[i]!), expectedModRevision: e!.modRevision })),
    ...history.map((h) => ({ op: 'delete' as const, key: h.key })),
  ]);
}

/**
 * Writes a new state if the alarm is still at `modRevision` (false when it changed meanwhile or
 * is gone), with a StateUpdate history item. Only a different StateValue moves
 * StateTransitionedTimestamp.
 */
export async function writeAlarmState(
  ctx: DomainContext, current: { value: AlarmRecord; modRevision: number },
  next: { StateValue: AlarmStateValue; StateReason: string; StateReasonData?: string },
): Promise<boolean> {
  const now = epochSeconds(ctx.nowMs());
  const before = current.value;
  const record: AlarmRecord = {
    ...before, StateValue: next.StateValue, StateReason: next.StateReason, StateUpdatedTimestamp: now,
    StateTransitionedTimestamp: next.StateValue === before.StateValue ? before.StateTransitionedTimestamp : now,
  };
  if (next.StateReasonData !== undefined) record.StateReasonData = next.StateReasonData;
  else delete record.StateReasonData;
  try {
    await ctx.store.put(alarmKey(before.AlarmName), record, { expectedModRevision: current.modRevision });
  } catch (err) {
    if (err instanceof ConflictError) return false;
    throw err;
  }
  ctx.log({ msg: 'alarm state updated', alarmArn: before.AlarmArn, from: before.StateValue, to: next.StateValue });
  await appendHistory(ctx, {
    AlarmName: before.AlarmName, AlarmType: 'MetricAlarm', Timestamp: now, HistoryItemType: 'StateUpdate',
    HistorySummary: `Alarm updated from ${before.StateValue} to ${next.StateValue}`,
    HistoryData: JSON.stringify({
      version: '1.0', oldState: { stateValue: before.StateValue, stateReason: before.StateReason },
      newState: { stateValue: next.StateValue, stateReason: next.StateReason },
    }),
  });
  return true;
}

/** SetAlarmState: the alarm's state until its next evaluation says otherwise. */
export async function setAlarmState(
  ctx: DomainContext, name: string, next: { StateValue: AlarmStateValue; StateReason: string; StateReasonData?: string },
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await ctx.store.get<AlarmRecord>(alarmKey(name));
    if (current === undefined) throw new AlarmNotFoundError(`Alarm ${name} not found`);
    if (await writeAlarmState(ctx, current, next)) return;
  }
  throw new ConflictError();
}

/** History items, newest first, of one alarm or of all. */
export async function alarmHistory(ctx: DomainContext, name: string | undefined): Promise<AlarmHistoryRecord[]> {
  const entries = await ctx.store.list<AlarmHistoryRecord>(name === undefined ? HISTORY_PREFIX : historyPrefixOf(name));
  return entries.map((e) => e.value).sort((a, b) => b.Timestamp - a.Timestamp);
}

let historySeq = 0;

async function appendHistory(ctx: DomainContext, item: AlarmHistoryRecord): Promise<void> {
  const prefix = historyPrefixOf(item.AlarmName);
  // Time first so a prefix scan is in time order; the counter keeps two items of one millisecond apart.
  await ctx.store.put(`${prefix}${String(Math.round(item.Timestamp * 1000)).padStart(15, '0')}-${String(historySeq++ % 1e6).padStart(6, '0')}`, item);
  const all = await ctx.store.list(prefix);
  const excess = all.length - ALARM_HISTORY_LIMIT;
  if (excess > 0) await ctx.store.txn(all.slice(0, excess).map((e) => ({ op: 'delete' as const, key: e.key })));
}
