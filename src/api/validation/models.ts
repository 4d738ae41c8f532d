import ecsJson from './models/ecs.json' with { type: 'json' };
import type { ServiceModel } from './service-model.js';

/** Amazon ECS 2014-11-13, trimmed from botocore by `scripts/gen-service-models.py`. */
export const ecsModel = ecsJson as ServiceModel;
