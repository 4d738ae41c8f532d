/**
 * The narrow view of metrics the autoscaling controller needs: one statistic of one metric over a
 * time range, in CloudWatch's terms. The server wires it to its metric store; tests give a fake.
 */

export interface MetricDimension { Name: string; Value: string }

/** A CloudWatch metric and the statistic wanted of it. */
export interface MetricQuery {
  Namespace: string;
  MetricName: string;
  Dimensions: MetricDimension[];
  /** Average, Sum, Minimum, Maximum, SampleCount (or a percentile such as p90 where the source has one). */
  Statistic: string;
}

export interface MetricSource {
  /**
   * The statistic of the metric's datapoints with timestamps in [startMs, endMs), or undefined
   * when there are none (insufficient data: nothing is scaled on it).
   */
  statistic(query: MetricQuery, startMs: number, endMs: number): Promise<number | undefined>;
}
