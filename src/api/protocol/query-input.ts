/**
 * awsQuery input: the flat `Name.Sub.N=value` parameters of a form body or query string turned
 * into an operation's input by walking its shapes in the service model.
 */
import type { MemberRef, ServiceModel, ShapeModel } from '../validation/index.js';

/**
 * The parameters as a tree on their dotted names: `Subnets.member.1=a` is the child `1` of the
 * child `member` of `Subnets`. A name given twice keeps its last value, as AWS does.
 */
interface ParamNode {
  value?: string;
  children: Map<string, ParamNode>;
}

/** Parameters that steer the request rather than fill the input. */
const PROTOCOL_PARAMETERS = new Set(['Action', 'Version']);

function paramTree(params: Iterable<[string, string]>): ParamNode {
  const root: ParamNode = { children: new Map() };
  for (const [name, value] of params) {
    if (PROTOCOL_PARAMETERS.has(name) || name.startsWith('X-Amz-')) continue;
    let node = root;
    for (const part of name.split('.')) {
      let child = node.children.get(part);
      if (child === undefined) {
        child = { children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    }
    node.value = value;
  }
  return root;
}

/**
 * The input of `operation` from its parameters, in the shape awsJson handlers receive: structures
 * as objects keyed by member name, lists as arrays, maps as objects, booleans and numbers as such,
 * timestamps as epoch seconds. Values that do not parse as their type stay strings, so that
 * `validateInput` names them (`Member must be of type integer`); parameters the model does not
 * know are ignored. Lists follow botocore's query rules: `Name.member.N` (or `Name.<locationName>.N`),
 * `Name.N` when flattened, 1-based and ordered by N; `Name=` with nothing under it is an empty
 * list. Maps are `Name.entry.N.key` / `.value`. Never throws for any parameters.
 */
export function queryInput(model: ServiceModel, operation: string, params: Iterable<[string, string]>): Record<string, unknown> {
  const inputShape = model.operations[operation]?.input;
  if (inputShape === undefined) return {};
  const value = readShape(model, { shape: inputShape }, paramTree(params));
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
}

/** The value at `node` for a member of shape `ref.shape`; `flattened` may sit on the shape or on the reference, as in botocore. */
function readShape(model: ServiceModel, ref: MemberRef, node: ParamNode): unknown {
  const shape = model.shapes[ref.shape];
  if (shape === undefined) return node.value;
  const flattened = shape.flattened === true || ref.flattened === true;
  switch (shape.type) {
    case 'structure': return readStructure(model, shape, node);
    case 'list': return readList(model, shape, flattened, node);
    case 'map': return readMap(model, shape, flattened, node);
    case 'boolean': return node.value === 'true' ? true : node.value === 'false' ? false : node.value;
    case 'integer':
    case 'long': return /^-?\d+$/.test(node.value ?? '') ? Number(node.value) : node.value;
    case 'double':
    case 'float': return readNumber(node.value);
    case 'timestamp': return readTimestamp(node.value);
    default: return node.value;
  }
}

function readStructure(model: ServiceModel, shape: ShapeModel, node: ParamNode): unknown {
  if (node.children.size === 0 && node.value !== undefined) return node.value;
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    const child = node.children.get(ref.locationName ?? name);
    if (child === undefined) continue;
    const value = readShape(model, ref, child);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function readList(model: ServiceModel, shape: ShapeModel, flattened: boolean, node: ParamNode): unknown {
  const member = shape.member as MemberRef;
  const items = flattened ? node : node.children.get(member.locationName ?? 'member');
  if (items === undefined) return node.value === '' ? [] : node.value;
  return positional(items).map((child) => readShape(model, member, child) ?? null);
}

function readMap(model: ServiceModel, shape: ShapeModel, flattened: boolean, node: ParamNode): unknown {
  const key = shape.key as MemberRef;
  const value = shape.value as MemberRef;
  const entries = flattened ? node : node.children.get('entry');
  if (entries === undefined) return node.value === '' ? {} : node.value;
  const out: Record<string, unknown> = {};
  for (const entry of positional(entries)) {
    const k = entry.children.get(key.locationName ?? 'key')?.value;
    const v = entry.children.get(value.locationName ?? 'value');
    if (k === undefined) continue;
    out[k] = v === undefined ? null : readShape(model, value, v) ?? null;
  }
  return out;
}

/** The children named by positive integers, in numeric order; other names are ignored. */
function positional(node: ParamNode): ParamNode[] {
  return [...node.children.entries()]
    .filter(([index]) => /^[1-9]\d{0,8}$/.test(index))
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, child]) => child);
}

function readNumber(text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return text;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

/** ISO 8601 (what the SDKs and the CLI send) or epoch seconds, as epoch seconds. */
function readTimestamp(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text)) return text;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms / 1000 : text;
}
