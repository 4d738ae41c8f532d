/**
 * The CloudWatch Logs operations Wharf serves, by wire name. Inputs arrive validated against the
 * Logs model; the rules and the storage live in `src/logs`.
 */
import type {
  CreateLogGroupRequest, CreateLogStreamRequest, DeleteLogGroupRequest, DeleteLogStreamRequest, DeleteRetentionPolicyRequest,
  DescribeLogGroupsRequest, DescribeLogStreamsRequest, FilterLogEventsRequest, GetLogEventsRequest, PutLogEventsRequest,
  PutRetentionPolicyRequest,
} from '@aws-sdk/client-cloudwatch-logs';
import { InvalidParameterException } from '../../model/index.js';
import type { LogStore } from '../../logs/index.js';
import type { OperationHandler } from '../protocol/index.js';

export function logsHandlers(store: LogStore): Record<string, OperationHandler> {
  /** Exactly one of logGroupName and logGroupIdentifier (a name or an ARN), as CloudWatch requires. */
  const groupOf = (input: { logGroupName?: string; logGroupIdentifier?: string }): string => {
    if ((input.logGroupName === undefined) === (input.logGroupIdentifier === undefined)) {
      throw new InvalidParameterException('Exactly one of logGroupName and logGroupIdentifier must be specified.');
    }
    return input.logGroupName ?? store.groupNameOf(input.logGroupIdentifier!);
  };

  return {
    CreateLogGroup: async (input: CreateLogGroupRequest) => {
      if (input.logGroupClass !== undefined && input.logGroupClass !== 'STANDARD') {
        throw new InvalidParameterException(`Log group class ${input.logGroupClass} is not supported: Wharf keeps STANDARD log groups only.`);
      }
      store.createLogGroup(input.logGroupName!);
    },
    DescribeLogGroups: async (input: DescribeLogGroupsRequest) => store.describeLogGroups({
      ...(input.logGroupNamePrefix !== undefined ? { prefix: input.logGroupNamePrefix } : {}),
      ...(input.logGroupNamePattern !== undefined ? { pattern: input.logGroupNamePattern } : {}),
      ...(input.limit !== undefined ? { limit: input.limit } : {}),
      ...(input.nextToken !== undefined ? { nextToken: input.nextToken } : {}),
    }),
    DeleteLogGroup: async (input: DeleteLogGroupRequest) => { store.deleteLogGroup(input.logGroupName!); },
    PutRetentionPolicy: async (input: PutRetentionPolicyRequest) => { store.putRetentionPolicy(input.logGroupName!, input.retentionInDays!); },
    DeleteRetentionPolicy: async (input: DeleteRetentionPolicyRequest) => { store.deleteRetentionPolicy(input.logGroupName!); },

    CreateLogStream: async (input: CreateLogStreamRequest) => { store.createLogStream(input.logGroupName!, input.logStreamName!); },
    DescribeLogStreams: async (input: DescribeLogStreamsRequest) => store.describeLogStreams({
      groupName: groupOf(input),
      ...(input.logStreamNamePrefix !== undefined ? { prefix: input.logStreamNamePrefix } : {}),
      ...(input.orderBy !== undefined ? { orderBy: input.orderBy } : {}),
      ...(input.descending !== undefined ? { descending: input.descending } : {}),
      ...(input.limit !== undefined ? { limit: input.limit } : {}),
      ...(input.nextToken !== undefined ? { nextToken: input.nextToken } : {}),
    }),
    DeleteLogStream: async (input: DeleteLogStreamRequest) => { store.deleteLogStream(input.logGroupName!, input.logStreamName!); },

    PutLogEvents: async (input: PutLogEventsRequest) => store.putLogEvents(input.logGroupName!, input.logStreamName!, input.logEvents!),
    GetLogEvents: async (input: GetLogEventsRequest) => store.getLogEvents({
      groupName: groupOf(input),
      streamName: input.logStreamName!,
      ...(input.startTime !== undefined ? { startTime: input.startTime } : {}),
      ...(input.endTime !== undefined ? { endTime: input.endTime } : {}),
      ...(input.nextToken !== undefined ? { nextToken: input.nextToken } : {}),
      ...(input.limit !== undefined ? { limit: input.limit } : {}),
      ...(input.startFromHead !== undefined ? { startFromHead: input.startFromHead } : {}),
    }),
    FilterLogEvents: async (input: FilterLogEventsRequest) => {
      const names = input.logStreamNames;
      return store.filterLogEvents({
        groupName: groupOf(input),
        ...(names !== undefined ? { streamNames: names } : {}),
        ...(input.logStreamNamePrefix !== undefined ? { streamPrefix: input.logStreamNamePrefix } : {}),
        ...(input.startTime !== undefined ? { startTime: input.startTime } : {}),
        ...(input.endTime !== undefined ? { endTime: input.endTime } : {}),
        ...(input.filterPattern !== undefined ? { filterPattern: input.filterPattern } : {}),
        ...(input.nextToken !== undefined ? { nextToken: input.nextToken } : {}),
        ...(input.limit !== undefined ? { limit: input.limit } : {}),
      });
    },
  };
}
