/**
 * awsQuery output: an operation's result serialized as XML by walking its output shape, and the
 * XML error document.
 */
import type { MemberRef, ServiceModel, ShapeModel } from '../validation/index.js';

/**
 * The whole response document of `operation`:
 * `<OpResponse xmlns="…"><OpResult>…</OpResult><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></OpResponse>`.
 * Only members of the output shape are written, in model order, so a handler may answer a stored
 * record carrying more. Lists are `<Name><member>…</member></Name>` (flattened: the element
 * repeated), maps `<entry><key/><value/></entry>`, timestamps ISO 8601 with milliseconds (from a
 * `Date` or epoch seconds), booleans `true`/`false`, blobs base64. An operation without an output
 * shape has no `<OpResult>`.
 */
export function queryResponseXml(model: ServiceModel, operation: string, output: unknown, requestId: string): string {
  const op = model.operations[operation];
  const parts: string[] = [`<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response${namespaceAttribute(model)}>`];
  if (op?.output !== undefined) {
    const wrapper = op.outputWrapper ?? `${operation}Result`;
    parts.push(`<${wrapper}>`);
    writeStructureMembers(model, shapeOf(model, op.output), output ?? {}, parts);
    parts.push(`</${wrapper}>`);
  }
  parts.push(`<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${operation}Response>`);
  return parts.join('');
}

/** awsQuery's error document. `Type` is Sender for client faults (4xx), Receiver for the service's own. */
export function queryErrorXml(
  model: ServiceModel | undefined, error: { code: string; message: string | undefined; httpStatus: number }, requestId: string,
): string {
  const type = error.httpStatus >= 500 ? 'Receiver' : 'Sender';
  const message = error.message === undefined ? '' : `<Message>${escapeXml(error.message)}</Message>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse${model === undefined ? '' : namespaceAttribute(model)}>` +
    `<Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code>${message}</Error>` +
    `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`;
}

function namespaceAttribute(model: ServiceModel): string {
  const ns = model.metadata.xmlNamespace;
  return ns === undefined ? '' : ` xmlns="${escapeXml(ns)}"`;
}

function shapeOf(model: ServiceModel, name: string): ShapeModel {
  const shape = model.shapes[name];
  if (shape === undefined) throw new Error(`Service model ${model.metadata.serviceId} has no shape ${name}`);
  return shape;
}

function writeStructureMembers(model: ServiceModel, shape: ShapeModel, value: unknown, out: string[]): void {
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    const memberValue = record[name];
    if (memberValue === undefined || memberValue === null) continue;
    writeMember(model, ref, ref.locationName ?? name, memberValue, out);
  }
}

function writeMember(model: ServiceModel, ref: MemberRef, element: string, value: unknown, out: string[]): void {
  const shape = shapeOf(model, ref.shape);
  if (shape.type === 'list' && Array.isArray(value)) {
    const member = shape.member as MemberRef;
    if (shape.flattened === true || ref.flattened === true) {
      for (const item of value) if (item !== undefined && item !== null) writeMember(model, member, member.locationName ?? element, item, out);
      return;
    }
    out.push(`<${element}>`);
    for (const item of value) if (item !== undefined && item !== null) writeMember(model, member, member.locationName ?? 'member', item, out);
    out.push(`</${element}>`);
    return;
  }
  if (shape.type === 'map' && typeof value === 'object') {
    const key = shape.key as MemberRef;
    const val = shape.value as MemberRef;
    const flattened = shape.flattened === true || ref.flattened === true;
    if (!flattened) out.push(`<${element}>`);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined || v === null) continue;
      out.push(`<${flattened ? element : 'entry'}>`);
      writeMember(model, key, key.locationName ?? 'key', k, out);
      writeMember(model, val, val.locationName ?? 'value', v, out);
      out.push(`</${flattened ? element : 'entry'}>`);
    }
    if (!flattened) out.push(`</${element}>`);
    return;
  }
  if (shape.type === 'structure') {
    out.push(`<${element}>`);
    writeStructureMembers(model, shape, value, out);
    out.push(`</${element}>`);
    return;
  }
  out.push(`<${element}>${escapeXml(scalarText(shape, value))}</${element}>`);
}

function scalarText(shape: ShapeModel, value: unknown): string {
  if (shape.type === 'timestamp') {
    const date = value instanceof Date ? value : typeof value === 'number' ? new Date(value * 1000) : new Date(String(value));
    return date.toISOString();
  }
  if (shape.type === 'blob' && value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return String(value);
}

/**
 * Text for XML 1.0 (element content, and the model's namespace attribute, which holds no quote):
 * markup characters as entities, and CR and TAB as
 * character references so a parser's line-end normalization keeps them. Characters XML 1.0 cannot
 * hold at all (other C0 controls) are written as U+FFFD: input validation refuses them, so only a
 * stored value from elsewhere could carry one.
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>\r\t\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => XML_ESCAPES[c] ?? '\ufffd');
}

const XML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;', '\t': '&#9;',
};
