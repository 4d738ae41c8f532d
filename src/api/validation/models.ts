import ecsJson from './models/ecs.json' with { type: 'json' };
import ecrJson from './models/ecr.json' with { type: 'json' };
import applicationAutoscalingJson from './models/application-autoscaling.json' with { type: 'json' };
import elbv2Json from './models/elbv2.json' with { type: 'json' };
import logsJson from './models/logs.json' with { type: 'json' };
import cloudwatchJson from './models/cloudwatch.json' with { type: 'json' };
import type { ServiceModel } from './service-model.js';

/** Amazon ECS 2014-11-13, trimmed from botocore by `scripts/gen-service-models.py`. */
export const ecsModel = ecsJson as ServiceModel;

/** Amazon ECR 2015-09-21, trimmed the same way. */
export const ecrModel = ecrJson as ServiceModel;

/** Application Auto Scaling 2016-02-06, trimmed the same way. */
export const applicationAutoscalingModel = applicationAutoscalingJson as ServiceModel;

/** Elastic Load Balancing v2 2015-12-01 (awsQuery), trimmed the same way. */
export const elbv2Model = elbv2Json as ServiceModel;

/** Amazon CloudWatch Logs 2014-03-28, trimmed the same way. */
export const logsModel = logsJson as ServiceModel;

/** Amazon CloudWatch 2010-08-01 (awsQuery, awsJson 1.0 and RPC v2 CBOR), trimmed the same way. */
export const cloudwatchModel = cloudwatchJson as ServiceModel;
