import ecsJson from './models/ecs.json' with { type: 'json' };
import ecrJson from './models/ecr.json' with { type: 'json' };
import logsJson from './models/logs.json' with { type: 'json' };
import type { ServiceModel } from './service-model.js';

/** Amazon ECS 2014-11-13, trimmed from botocore by `scripts/gen-service-models.py`. */
export const ecsModel = ecsJson as ServiceModel;

/** Amazon ECR 2015-09-21, trimmed the same way. */
export const ecrModel = ecrJson as ServiceModel;

/** Amazon CloudWatch Logs 2014-03-28, trimmed the same way. */
export const logsModel = logsJson as ServiceModel;
