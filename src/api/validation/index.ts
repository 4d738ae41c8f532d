export { compilePattern, validateInput } from './validate.js';
export { ecsModel, ecrModel, elbv2Model, logsModel, cloudwatchModel, applicationAutoscalingModel } from './models.js';
export type { ServiceModel, ServiceMetadata, OperationModel, ShapeModel, ShapeType, MemberRef } from './service-model.js';
