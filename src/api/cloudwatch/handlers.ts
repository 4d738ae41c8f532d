/**
 * The CloudWatch metrics and alarms operations. One handler map serves awsQuery, awsJson 1.0 and
 * RPC v2 CBOR: input has the awsJson shape (timestamps as epoch seconds), output timestamps are
 * Dates. Failures carry CloudWatch's awsQuery codes (InvalidParameterValue, MissingParameter,
 * InvalidParameterCombination, ResourceNotFound, LimitExceeded, InvalidNextToken, ValidationError);
 * every check runs before anything is written.
 */
import type {
  DeleteAlarmsInput, DescribeAlarmHistoryInput, DescribeAlarmsInput, Dimension, GetMetricDataInput, GetMetricStatisticsInput,
  ListMetricsInput, MetricDataQuery, MetricDatum as CwMetricDatum, PutMetricAlarmInput, PutMetricDataInput, SetAlarmStateInput,
} from '@aws-sdk/client-cloudwatch';
import {
  alarmHistory, deleteAlarms, listAlarms, putMetricAlarm, setAlarmState, type AlarmRecord, type AlarmStateValue, type DomainContext, type Wire,
} from '../../domain/index.js';
import {
  COMPARISON_OPERATORS, isReservedNamespace, MetricMathError, MetricSeriesLimitError, MetricStore, STATISTICS, TREAT_MISSING_DATA, evaluateExpression,
  referencedIds, seriesKey, type Datapoint, type MathValue, type MetricDatum, type Series, type Statistic,
} from '../../metrics/index.js';
import { WharfError } from '../../model/index.js';

export interface CloudWatchDependencies {
  ctx: DomainContext;
  metrics: MetricStore;
}

/** Input as the protocols hand it over: the SDK shape with timestamps as epoch seconds. */
type In<T> = Wire<T>;

const invalid = (message: string) => new WharfError('InvalidParameterValue', message);
const combination = (message: string) => new WharfError('InvalidParameterCombination', message);
const missing = (message: string) => new WharfError('MissingParameter', message);

/** CloudWatch answers at most this many datapoints from one GetMetricStatistics call. */
const MAX_STATISTICS_DATAPOINTS = 1440;
/** PutMetricData accepts timestamps up to two weeks old and two hours ahead. */
const PUT_MAX_AGE_MS = 14 * 86_400_000;
const PUT_MAX_AHEAD_MS = 2 * 3600_000;
/** CloudWatch rejects values beyond ±2^360 (and non-zero ones closer to zero than 2^-260). */
const MAX_MAGNITUDE = 2 ** 360;
const MIN_MAGNITUDE = 2 ** -260;
const LIST_METRICS_PAGE = 500;
/** RecentlyActive=PT3H. */
const RECENTLY_ACTIVE_MS = 3 * 3600_000;
const DESCRIBE_ALARMS_PAGE = 50;
/** An alarm's evaluation range (Period x EvaluationPeriods) is at most one day. */
const MAX_EVALUATION_RANGE_S = 86_400;

/** One operation: the same function serves every protocol (it reads nothing of the request but its input). */
export type CloudWatchHandler = (input: any) => Promise<unknown>;

export function cloudWatchHandlers({ ctx, metrics }: CloudWatchDependencies): Record<string, CloudWatchHandler> {
  return {
    GetMetricStatistics: async (input: In<GetMetricStatisticsInput>) => {
      const statistics = input.Statistics ?? [];
      if ((input.ExtendedStatistics ?? []).length > 0) {
        throw invalid('ExtendedStatistics (percentiles) are not kept by Wharf; use Statistics (SampleCount, Average, Sum, Minimum, Maximum).');
      }
      if (statistics.length === 0) throw missing('The parameter Statistics or ExtendedStatistics is required.');
      checkPeriod(input.Period!, 'Period');
      const startMs = input.StartTime! * 1000;
      const endMs = input.EndTime! * 1000;
      if (startMs >= endMs) throw invalid('The parameter StartTime must be less than the parameter EndTime.');
      const requested = Math.ceil((endMs - startMs) / (input.Period! * 1000));
      if (requested > MAX_STATISTICS_DATAPOINTS) {
        throw combination(`You have requested up to ${requested.toLocaleString('en-US')} datapoints, which exceeds the limit of ` +
          `${MAX_STATISTICS_DATAPOINTS.toLocaleString('en-US')}. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`);
      }
      const points = metrics.statistics({
        namespace: input.Namespace!, metricName: input.MetricName!, dimensions: dimensionsOf(input.Dimensions, 'Dimensions'),
        startTimeMs: startMs, endTimeMs: endMs, periodSeconds: input.Period!, ...(input.Unit ? { unit: input.Unit } : {}),
      });
      return {
        Label: input.MetricName,
        Datapoints: points.map((p) => ({
          Timestamp: new Date(p.timestampMs),
          ...Object.fromEntries(statistics.map((s) => [s, MetricStore.statisticOf(p, s as Statistic)])),
          Unit: p.unit,
        })),
      };
    },

    GetMetricData: async (input: In<GetMetricDataInput>) => getMetricData(metrics, input),

    ListMetrics: async (input: In<ListMetricsInput>) => {
      const found = metrics.listMetrics({
        ...(input.Namespace ? { namespace: input.Namespace } : {}),
        ...(input.MetricName ? { metricName: input.MetricName } : {}),
        dimensions: (input.Dimensions ?? []).map((d) => ({ name: d.Name!, ...(d.Value !== undefined ? { value: d.Value } : {}) })),
        ...(input.RecentlyActive === 'PT3H' ? { activeSinceMs: ctx.nowMs() - RECENTLY_ACTIVE_MS } : {}),
      });
      let start = 0;
      if (input.NextToken !== undefined) {
        const after = decodeToken(input.NextToken);
        start = found.findIndex((m) => seriesKey(m) > after);
        if (start < 0) start = found.length;
      }
      const page = found.slice(start, start + LIST_METRICS_PAGE);
      const more = start + LIST_METRICS_PAGE < found.length;
      return {
        Metrics: page.map((m) => ({ Namespace: m.namespace, MetricName: m.metricName, Dimensions: wireDimensions(m.dimensions) })),
        ...(more ? { NextToken: encodeToken(seriesKey(page[page.length - 1]!)) } : {}),
      };
    },

    PutMetricData: async (input: In<PutMetricDataInput>) => {
      const namespace = input.Namespace!;
      if (isReservedNamespace(namespace)) {
        throw invalid(`The value ${namespace} for parameter Namespace is invalid: the AWS/ prefix and ECS/ContainerInsights are reserved for Wharf's own metrics.`);
      }
      const data = input.MetricData ?? [];
      if (data.length === 0) throw missing('The parameter MetricData is required.');
      if (data.length > 1000) throw invalid('The collection MetricData must not have a size greater than 1000.');
      const now = ctx.nowMs();
      const datums = data.map((d, i) => toDatum(namespace, d, i + 1, now));
      const existing = new Set(metrics.listMetrics({ namespace }).map(seriesKey));
      const fresh = new Set(datums.map(seriesKey).filter((k) => !existing.has(k)));
      if (metrics.userSeries + fresh.size > metrics.maxSeries) {
        throw new WharfError('LimitExceeded', `Wharf keeps at most ${metrics.maxSeries} metrics; this request would create ${fresh.size} more.`);
      }
      try {
        for (const d of datums) metrics.put(d);
      } catch (err) {
        if (err instanceof MetricSeriesLimitError) throw new WharfError('LimitExceeded', err.message);
        throw err;
      }
      return {};
    },

    PutMetricAlarm: async (input: In<PutMetricAlarmInput>) => {
      await putMetricAlarm(ctx, alarmConfiguration(input));
      return {};
    },

    DescribeAlarms: async (input: In<DescribeAlarmsInput>) => {
      if (input.AlarmNames?.length && input.AlarmNamePrefix !== undefined) {
        throw combination('AlarmNames and AlarmNamePrefix cannot be used together.');
      }
      if (input.ChildrenOfAlarmName !== undefined || input.ParentsOfAlarmName !== undefined) {
        // Composite alarms do not exist in Wharf: nothing has parents or children.
        return { MetricAlarms: [], CompositeAlarms: [] };
      }
      const types = input.AlarmTypes ?? ['MetricAlarm'];
      const names = input.AlarmNames?.length ? new Set(input.AlarmNames) : undefined;
      const alarms = types.includes('MetricAlarm') ? (await listAlarms(ctx)).map((e) => e.value).filter((a) =>
        (names === undefined || names.has(a.AlarmName)) &&
        (input.AlarmNamePrefix === undefined || a.AlarmName.startsWith(input.AlarmNamePrefix)) &&
        (input.StateValue === undefined || a.StateValue === input.StateValue) &&
        (input.ActionPrefix === undefined || [...(a.AlarmActions ?? []), ...(a.OKActions ?? []), ...(a.InsufficientDataActions ?? [])]
          .some((x) => x.startsWith(input.ActionPrefix!)))) : [];
      const pageSize = input.MaxRecords ?? DESCRIBE_ALARMS_PAGE;
      let start = 0;
      if (input.NextToken !== undefined) {
        const after = decodeToken(input.NextToken);
        start = alarms.findIndex((a) => a.AlarmName > after);
        if (start < 0) start = alarms.length;
      }
      const page = alarms.slice(start, start + pageSize);
      return {
        MetricAlarms: page.map(presentAlarm),
        CompositeAlarms: [],
        ...(start + pageSize < alarms.length ? { NextToken: encodeToken(page[page.length - 1]!.AlarmName) } : {}),
      };
    },

    DeleteAlarms: async (input: In<DeleteAlarmsInput>) => {
      const names = [...new Set(input.AlarmNames ?? [])];
      if (names.length === 0) return {};
      await deleteAlarms(ctx, names);
      return {};
    },

    SetAlarmState: async (input: In<SetAlarmStateInput>) => {
      if (input.StateReasonData !== undefined) {
        try {
          JSON.parse(input.StateReasonData);
        } catch {
          throw new WharfError('InvalidFormat', 'The parameter StateReasonData must be valid JSON.');
        }
      }
      await setAlarmState(ctx, input.AlarmName!, {
        StateValue: input.StateValue as AlarmStateValue, StateReason: input.StateReason!,
        ...(input.StateReasonData !== undefined ? { StateReasonData: input.StateReasonData } : {}),
      });
      return {};
    },

    DescribeAlarmHistory: async (input: In<DescribeAlarmHistoryInput>) => {
      const from = input.StartDate ?? -Infinity;
      const to = input.EndDate ?? Infinity;
      let items = (await alarmHistory(ctx, input.AlarmName)).filter((h) =>
        h.Timestamp >= from && h.Timestamp <= to && (input.HistoryItemType === undefined || h.HistoryItemType === input.HistoryItemType));
      if (input.ScanBy === 'TimestampAscending') items = items.reverse();
      const pageSize = input.MaxRecords ?? DESCRIBE_ALARMS_PAGE;
      const start = input.NextToken === undefined ? 0 : Number(decodeToken(input.NextToken));
      if (!Number.isInteger(start) || start < 0) throw new WharfError('InvalidNextToken', 'The NextToken is not valid.');
      const page = items.slice(start, start + pageSize);
      return {
        AlarmHistoryItems: page.map((h) => ({ ...h, Timestamp: new Date(h.Timestamp * 1000) })),
        ...(start + pageSize < items.length ? { NextToken: encodeToken(String(start + pageSize)) } : {}),
      };
    },
  };
}

/** CloudWatch's rule: 1, 5, 10, 30 (high resolution) or a multiple of 60 seconds. */
function checkPeriod(period: number, name: string): void {
  if (![1, 5, 10, 30].includes(period) && period % 60 !== 0) {
    throw invalid(`The parameter ${name} must be 1, 5, 10, 30, or a multiple of 60.`);
  }
}

function dimensionsOf(dimensions: In<Dimension>[] | undefined, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of dimensions ?? []) {
    if (Object.hasOwn(out, d.Name!)) throw invalid(`The collection ${where} must not have duplicate dimension names: ${d.Name}.`);
    Object.defineProperty(out, d.Name!, { value: d.Value!, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function wireDimensions(dimensions: Readonly<Record<string, string>>): { Name: string; Value: string }[] {
  return Object.keys(dimensions).sort().map((Name) => ({ Name, Value: dimensions[Name]! }));
}

function toDatum(namespace: string, d: In<CwMetricDatum>, n: number, nowMs: number): MetricDatum {
  const where = `MetricData.member.${n}`;
  const timestampMs = d.Timestamp !== undefined ? d.Timestamp * 1000 : nowMs;
  if (timestampMs < nowMs - PUT_MAX_AGE_MS || timestampMs > nowMs + PUT_MAX_AHEAD_MS) {
    throw invalid(`The parameter ${where}.Timestamp must specify a time no more than two weeks in the past and no more than two hours in the future.`);
  }
  const forms = [d.Value !== undefined, d.StatisticValues !== undefined, (d.Values ?? []).length > 0].filter(Boolean).length;
  if (forms > 1) throw combination(`The parameters ${where}.Value, ${where}.StatisticValues and ${where}.Values are mutually exclusive.`);
  if (forms === 0) throw missing(`The parameter ${where}.Value, ${where}.StatisticValues or ${where}.Values is required.`);
  if (d.StorageResolution !== undefined && d.StorageResolution !== 1 && d.StorageResolution !== 60) {
    throw invalid(`The parameter ${where}.StorageResolution must be 1 or 60.`);
  }
  const checkValue = (v: number, name: string) => {
    if (!Number.isFinite(v) || Math.abs(v) > MAX_MAGNITUDE || (v !== 0 && Math.abs(v) < MIN_MAGNITUDE)) {
      throw invalid(`The value ${v} for parameter ${where}.${name} is out of range.`);
    }
  };
  let values;
  if (d.Value !== undefined) {
    checkValue(d.Value, 'Value');
    values = { sampleCount: 1, sum: d.Value, minimum: d.Value, maximum: d.Value };
  } else if (d.StatisticValues !== undefined) {
    const s = d.StatisticValues;
    for (const [k, v] of Object.entries(s)) checkValue(v as number, `StatisticValues.${k}`);
    if (s.SampleCount! <= 0) throw invalid(`The parameter ${where}.StatisticValues.SampleCount must be greater than 0.`);
    if (s.Minimum! > s.Maximum!) throw invalid(`The parameter ${where}.StatisticValues.Minimum must not be greater than Maximum.`);
    values = { sampleCount: s.SampleCount!, sum: s.Sum!, minimum: s.Minimum!, maximum: s.Maximum! };
  } else {
    const vs = d.Values!;
    const counts = d.Counts ?? vs.map(() => 1);
    if (counts.length !== vs.length) throw invalid(`The parameters ${where}.Values and ${where}.Counts must have the same number of members.`);
    if (vs.length > 150) throw invalid(`The collection ${where}.Values must not have a size greater than 150.`);
    vs.forEach((v, i) => checkValue(v, `Values.member.${i + 1}`));
    if (counts.some((c) => !(c > 0) || !Number.isFinite(c))) throw invalid(`Every member of ${where}.Counts must be greater than 0.`);
    values = {
      sampleCount: counts.reduce((a, c) => a + c, 0), sum: vs.reduce((a, v, i) => a + v * counts[i]!, 0),
      minimum: Math.min(...vs), maximum: Math.max(...vs),
    };
  }
  return {
    namespace, metricName: d.MetricName!, dimensions: dimensionsOf(d.Dimensions, `${where}.Dimensions`), timestampMs, values,
    ...(d.Unit ? { unit: d.Unit } : {}),
  };
}

function getMetricData(metrics: MetricStore, input: In<GetMetricDataInput>) {
  const queries = input.MetricDataQueries ?? [];
  if (queries.length === 0) throw missing('The parameter MetricDataQueries is required.');
  if (queries.length > 500) throw invalid('The collection MetricDataQueries must not have a size greater than 500.');
  const startMs = input.StartTime! * 1000;
  const endMs = input.EndTime! * 1000;
  if (startMs >= endMs) throw invalid('The parameter StartTime must be less than the parameter EndTime.');
  if (input.NextToken !== undefined) throw new WharfError('InvalidNextToken', 'The NextToken is not valid: Wharf answers every datapoint in one page.');
  const byId = new Map<string, In<MetricDataQuery>>();
  for (const q of queries) {
    if (!/^[a-z][a-zA-Z0-9_]*$/.test(q.Id!)) {
      throw validation(`The value ${q.Id} for parameter MetricDataQueries.Id is invalid: it must start with a lowercase letter and contain only letters, numbers and underscores.`);
    }
    if (byId.has(q.Id!)) throw validation(`The value ${q.Id} for parameter MetricDataQueries.Id is used more than once.`);
    if ((q.MetricStat === undefined) === (q.Expression === undefined)) {
      throw validation(`Exactly one of MetricStat and Expression must be given for the query ${q.Id}.`);
    }
    if (q.MetricStat !== undefined) {
      checkPeriod(q.MetricStat.Period!, `MetricStat.Period of ${q.Id}`);
      if (!(STATISTICS as readonly string[]).includes(q.MetricStat.Stat!)) {
        throw validation(`The value ${q.MetricStat.Stat} for MetricStat.Stat of ${q.Id} is not supported: Wharf answers ${STATISTICS.join(', ')}.`);
      }
    }
    byId.set(q.Id!, q);
  }
  const values = new Map<string, MathValue>();
  const evaluating = new Set<string>();
  const resolve = (id: string): MathValue => {
    const known = values.get(id);
    if (known !== undefined) return known;
    const q = byId.get(id);
    if (q === undefined) throw new MetricMathError(`Unknown id ${id}.`);
    if (evaluating.has(id)) throw new MetricMathError(`The expression of ${id} refers to itself.`);
    evaluating.add(id);
    let value: MathValue;
    if (q.MetricStat !== undefined) {
      const stat = q.MetricStat;
      const points: Datapoint[] = metrics.statistics({
        namespace: stat.Metric?.Namespace ?? '', metricName: stat.Metric?.MetricName ?? '',
        dimensions: dimensionsOf(stat.Metric?.Dimensions, `MetricStat.Metric.Dimensions of ${id}`),
        startTimeMs: startMs, endTimeMs: endMs, periodSeconds: stat.Period!, ...(stat.Unit ? { unit: stat.Unit } : {}),
      });
      value = new Map(points.map((p) => [p.timestampMs, MetricStore.statisticOf(p, stat.Stat as Statistic)]));
    } else {
      referencedIds(q.Expression!).forEach((r) => { if (!byId.has(r)) throw new MetricMathError(`Unknown id ${r}.`); });
      value = evaluateExpression(q.Expression!, resolve);
    }
    evaluating.delete(id);
    values.set(id, value);
    return value;
  };
  const results = [];
  const ascending = input.ScanBy === 'TimestampAscending';
  for (const q of queries) {
    if (q.ReturnData === false) continue;
    let value: MathValue;
    try {
      value = resolve(q.Id!);
    } catch (err) {
      if (err instanceof MetricMathError) throw validation(`Error in expression ${q.Id}: ${err.message}`);
      throw err;
    }
    const series: Series = typeof value === 'number' ? scalarSeries(value, values) : value;
    const times = [...series.keys()].sort((a, b) => (ascending ? a - b : b - a));
    const max = input.MaxDatapoints ?? 100_800;
    results.push({
      Id: q.Id, Label: q.Label ?? (q.MetricStat?.Metric?.MetricName ?? q.Id),
      Timestamps: times.slice(0, max).map((t) => new Date(t)), Values: times.slice(0, max).map((t) => series.get(t)!),
      StatusCode: times.length > max ? 'PartialData' : 'Complete', Messages: [],
    });
  }
  return { MetricDataResults: results, Messages: [] };
}

/** A scalar result is answered at every timestamp the query's series have. */
function scalarSeries(value: number, all: Map<string, MathValue>): Series {
  const out: Series = new Map();
  if (!Number.isFinite(value)) return out;
  for (const v of all.values()) if (typeof v !== 'number') for (const t of v.keys()) out.set(t, value);
  return out;
}

function validation(message: string): WharfError {
  return new WharfError('ValidationError', message);
}

function alarmConfiguration(input: In<PutMetricAlarmInput>) {
  if (input.Metrics !== undefined && input.Metrics.length > 0) {
    throw invalid('Metric math alarms (Metrics) are not supported by Wharf; give Namespace, MetricName, Statistic and Dimensions.');
  }
  if (input.ExtendedStatistic !== undefined) throw invalid('ExtendedStatistic (percentiles) is not supported by Wharf; use Statistic.');
  if (input.EvaluationCriteria !== undefined) throw invalid('EvaluationCriteria (PromQL alarms) is not supported by Wharf.');
  for (const [name, value] of [['MetricName', input.MetricName], ['Namespace', input.Namespace], ['Statistic', input.Statistic],
    ['Period', input.Period], ['EvaluationPeriods', input.EvaluationPeriods], ['Threshold', input.Threshold],
    ['ComparisonOperator', input.ComparisonOperator]] as const) {
    if (value === undefined) throw missing(`The parameter ${name} is required.`);
  }
  checkPeriod(input.Period!, 'Period');
  if (input.Period! < 60 && input.Period! !== 10 && input.Period! !== 30) throw invalid('The parameter Period must be 10, 30, or a multiple of 60.');
  if (input.Period! * input.EvaluationPeriods! > MAX_EVALUATION_RANGE_S) {
    throw invalid('The evaluation range (Period multiplied by EvaluationPeriods) must not exceed 86400 seconds (one day).');
  }
  if (input.DatapointsToAlarm !== undefined && input.DatapointsToAlarm > input.EvaluationPeriods!) {
    throw invalid('DatapointsToAlarm must be less than or equal to EvaluationPeriods.');
  }
  if (!(COMPARISON_OPERATORS as readonly string[]).includes(input.ComparisonOperator!)) {
    throw invalid(`The value ${input.ComparisonOperator} for parameter ComparisonOperator needs an anomaly detection band, which Wharf does not support.`);
  }
  if (input.TreatMissingData !== undefined && !(TREAT_MISSING_DATA as readonly string[]).includes(input.TreatMissingData)) {
    throw invalid(`The value ${input.TreatMissingData} for parameter TreatMissingData is invalid: use ${TREAT_MISSING_DATA.join(', ')}.`);
  }
  for (const [name, arns] of [['AlarmActions', input.AlarmActions], ['OKActions', input.OKActions], ['InsufficientDataActions', input.InsufficientDataActions]] as const) {
    for (const arn of arns ?? []) if (!arn.startsWith('arn:')) throw invalid(`Invalid arn syntax: ${arn} (in ${name}).`);
  }
  dimensionsOf(input.Dimensions, 'Dimensions');
  return {
    AlarmName: input.AlarmName!,
    ...(input.AlarmDescription !== undefined ? { AlarmDescription: input.AlarmDescription } : {}),
    ActionsEnabled: input.ActionsEnabled ?? true,
    OKActions: input.OKActions ?? [], AlarmActions: input.AlarmActions ?? [], InsufficientDataActions: input.InsufficientDataActions ?? [],
    MetricName: input.MetricName!, Namespace: input.Namespace!, Statistic: input.Statistic!, Dimensions: input.Dimensions ?? [],
    Period: input.Period!, EvaluationPeriods: input.EvaluationPeriods!,
    ...(input.DatapointsToAlarm !== undefined ? { DatapointsToAlarm: input.DatapointsToAlarm } : {}),
    Threshold: input.Threshold!, ComparisonOperator: input.ComparisonOperator!,
    ...(input.Unit !== undefined ? { Unit: input.Unit } : {}),
    ...(input.TreatMissingData !== undefined ? { TreatMissingData: input.TreatMissingData } : {}),
    tags: (input.Tags ?? []).map((t) => ({ Key: t.Key!, Value: t.Value! })),
  };
}

/** An alarm as DescribeAlarms answers it (timestamps as Dates, without Wharf's own fields). */
function presentAlarm(a: AlarmRecord) {
  const { tags: _tags, ...rest } = a;
  return {
    ...rest,
    AlarmConfigurationUpdatedTimestamp: new Date((a.AlarmConfigurationUpdatedTimestamp ?? 0) * 1000),
    StateUpdatedTimestamp: new Date(a.StateUpdatedTimestamp * 1000),
    StateTransitionedTimestamp: new Date(a.StateTransitionedTimestamp * 1000),
  };
}

function encodeToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (key.length === 0 || encodeToken(key) !== token) throw new WharfError('InvalidNextToken', 'The NextToken is not valid.');
  return key;
}
