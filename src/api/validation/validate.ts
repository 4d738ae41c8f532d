import { ClientException, InvalidParameterException, WharfError } from '../../model/index.js';
import type { ServiceModel, ShapeModel } from './service-model.js';

/** One failed constraint; `missing` marks an absent required member. */
interface Violation { message: string; missing: boolean }

/** Checks `value` found at `path`, appending what it breaks to `out`. */
type Validator = (value: unknown, path: string, out: Violation[]) => void;

const compiled = new WeakMap<ServiceModel, Map<string, Validator>>();

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const MAX_SHOWN_VALUE_CHARS = 256;
/** A UTF-16 surrogate without its pair (with the `u` flag, a well-formed pair is one code point and does not match). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Validates an operation's input against the service model, in the order the model lists members,
 * and throws when anything fails: `ClientException` when the only failures are missing required
 * members (or what `missingOnly` makes: services without ClientException), otherwise `InvalidParameterException`
 * (or what `otherwise` makes: awsQuery services answer ValidationError) for a wrong type, enum, range, length or pattern. The
 * message follows AWS's model-validation wording and names each field by its path, e.g.
 * `1 validation error detected: Value 'FOO' at 'networkMode' failed to satisfy constraint: Member
 * must satisfy enum value set: [bridge, host, awsvpc, none]`. Unknown members are ignored, as AWS's
 * JSON services do. Validators are compiled once per model and shape.
 *
 * Paths follow the model's protocol: JSON services name members as sent (`containerDefinitions[0].memory`),
 * awsQuery services as AWS's query services do, lower camel case with 1-based list positions
 * (`tags.1.member.key`, `attributes.entry.1.value` for a map's value).
 */
export function validateInput(
  model: ServiceModel, operationName: string, input: unknown,
  missingOnly: (message: string) => WharfError = (message) => new ClientException(message),
  otherwise: (message: string) => WharfError = (message) => new InvalidParameterException(message),
): void {
  const operation = model.operations[operationName];
  if (operation === undefined) throw new WharfError('UnknownOperationException', `Unknown operation ${operationName}`);
  if (operation.input === undefined) return;
  const violations: Violation[] = [];
  validatorFor(model, operation.input)(input, '', violations);
  if (violations.length === 0) return;
  const count = violations.length === 1 ? '1 validation error' : `${violations.length} validation errors`;
  const message = `${count} detected: ${violations.map((v) => v.message).join('; ')}`;
  throw violations.every((v) => v.missing) ? missingOnly(message) : otherwise(message);
}

function validatorFor(model: ServiceModel, shapeName: string): Validator {
  let validators = compiled.get(model);
  if (validators === undefined) {
    validators = new Map();
    compiled.set(model, validators);
  }
  const existing = validators.get(shapeName);
  if (existing !== undefined) return existing;
  // Registered before compiling so recursive shapes resolve to this same function.
  let compiledValidator: Validator | undefined;
  const validator: Validator = (value, path, out) => {
    compiledValidator ??= compile(model, shapeName);
    compiledValidator(value, path, out);
  };
  validators.set(shapeName, validator);
  return validator;
}

function compile(model: ServiceModel, shapeName: string): Validator {
  const shape = model.shapes[shapeName];
  if (shape === undefined) throw new Error(`Service model ${model.metadata.serviceId} has no shape ${shapeName}`);
  const show = (value: unknown): string => showValue(value, shape.sensitive === true);
  switch (shape.type) {
    case 'structure': return compileStructure(model, shape, show);
    case 'list': return compileList(model, shape, show);
    case 'map': return compileMap(model, shape, show);
    case 'string': return compileString(shape, show);
    case 'blob': return compileBlob(shape, show);
    case 'integer': return compileNumber(shape, show, 'integer', (v) => Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX);
    case 'long': return compileNumber(shape, show, 'long', Number.isSafeInteger);
    case 'double':
    case 'float': return compileNumber(shape, show, shape.type, Number.isFinite);
    case 'boolean':
      return (value, path, out) => {
        if (typeof value !== 'boolean') out.push(violation(show(value), path, 'Member must be of type boolean'));
      };
    case 'timestamp': {
      const constraint = wireStyleOf(model).timestamp;
      return (value, path, out) => {
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          out.push(violation(show(value), path, constraint));
        }
      };
    }
    default:
      throw new Error(`Shape ${shapeName} has unsupported type ${String((shape as { type: unknown }).type)}`);
  }
}

function compileStructure(model: ServiceModel, shape: ShapeModel, show: (v: unknown) => string): Validator {
  if (shape.document === true) return () => {};
  const paths = wireStyleOf(model);
  const members = Object.entries(shape.members ?? {}).map(([name, ref]) => ({
    name,
    pathName: paths.member(name),
    required: shape.required?.includes(name) === true,
    validate: validatorFor(model, ref.shape),
  }));
  const union = shape.union === true;
  return (value, path, out) => {
    if (!isPlainObject(value)) {
      out.push(violation(show(value), path, 'Member must be of type structure'));
      return;
    }
    let set = 0;
    for (const member of members) {
      const memberValue = value[member.name];
      const memberPath = path === '' ? member.pathName : `${path}.${member.pathName}`;
      if (memberValue === undefined || memberValue === null) {
        if (member.required) out.push({ message: `Value null at '${memberPath}' failed to satisfy constraint: Member must not be null`, missing: true });
        continue;
      }
      set++;
      member.validate(memberValue, memberPath, out);
    }
    if (union && set !== 1) out.push(violation(show(value), path, 'Member must have exactly one member set'));
  };
}

function compileList(model: ServiceModel, shape: ShapeModel, show: (v: unknown) => string): Validator {
  const validateMember = validatorFor(model, requiredRef(shape.member, 'member').shape);
  const checkLength = lengthCheck(shape);
  const { element: elementPathOf } = wireStyleOf(model);
  return (value, path, out) => {
    if (!Array.isArray(value)) {
      out.push(violation(show(value), path, 'Member must be of type list'));
      return;
    }
    checkLength(value.length, value, path, out, show);
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      const elementPath = elementPathOf(path, i);
      if (element === null || element === undefined) out.push(violation('null', elementPath, 'Member must not be null'));
      else validateMember(element, elementPath, out);
    }
  };
}

function compileMap(model: ServiceModel, shape: ShapeModel, show: (v: unknown) => string): Validator {
  const validateKey = validatorFor(model, requiredRef(shape.key, 'key').shape);
  const validateValue = validatorFor(model, requiredRef(shape.value, 'value').shape);
  const checkLength = lengthCheck(shape);
  const { entry: entryPathOf } = wireStyleOf(model);
  return (value, path, out) => {
    if (!isPlainObject(value)) {
      out.push(violation(show(value), path, 'Member must be of type map'));
      return;
    }
    const entries = Object.entries(value);
    checkLength(entries.length, value, path, out, show);
    for (const [i, [key, entryValue]] of entries.entries()) {
      validateKey(key, path, out);
      const entryPath = entryPathOf(path, key, i);
      if (entryValue === null || entryValue === undefined) out.push(violation('null', entryPath, 'Member must not be null'));
      else validateValue(entryValue, entryPath, out);
    }
  };
}

function compileString(shape: ShapeModel, show: (v: unknown) => string): Validator {
  const allowed = shape.enum === undefined ? undefined : new Set(shape.enum);
  const enumText = shape.enum === undefined ? '' : `Member must satisfy enum value set: [${shape.enum.join(', ')}]`;
  const pattern = shape.pattern === undefined ? undefined : compilePattern(shape.pattern);
  const checkLength = lengthCheck(shape);
  return (value, path, out) => {
    if (typeof value !== 'string') {
      out.push(violation(show(value), path, 'Member must be of type string'));
      return;
    }
    // JSON's \\uD800 escape makes a string no UTF-8 can carry: the store would keep U+FFFD in its
    // place and key encoders (encodeURIComponent) throw, so such a value is refused here.
    if (LONE_SURROGATE.test(value)) out.push(violation(show(value), path, 'Member must be a string of Unicode characters (no lone surrogates)'));
    if (allowed !== undefined && !allowed.has(value)) out.push(violation(show(value), path, enumText));
    checkLength(value.length, value, path, out, show);
    if (pattern !== undefined && !pattern.test(value)) {
      out.push(violation(show(value), path, `Member must satisfy regular expression pattern: ${shape.pattern ?? ''}`));
    }
  };
}

/** Blobs travel base64-encoded in JSON; length constraints apply to the decoded bytes. */
function compileBlob(shape: ShapeModel, show: (v: unknown) => string): Validator {
  const checkLength = lengthCheck(shape);
  return (value, path, out) => {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
      out.push(violation(show(value), path, 'Member must be base64-encoded binary data'));
      return;
    }
    checkLength(Buffer.byteLength(value, 'base64'), value, path, out, show);
  };
}

function compileNumber(
  shape: ShapeModel,
  show: (v: unknown) => string,
  typeName: string,
  isValid: (v: number) => boolean,
): Validator {
  const { min, max } = shape;
  return (value, path, out) => {
    if (typeof value !== 'number' || !isValid(value)) {
      out.push(violation(show(value), path, `Member must be of type ${typeName}`));
      return;
    }
    if (min !== undefined && value < min) out.push(violation(show(value), path, `Member must have value greater than or equal to ${min}`));
    if (max !== undefined && value > max) out.push(violation(show(value), path, `Member must have value less than or equal to ${max}`));
  };
}

type LengthCheck = (length: number, value: unknown, path: string, out: Violation[], show: (v: unknown) => string) => void;

function lengthCheck(shape: ShapeModel): LengthCheck {
  const { min, max } = shape;
  if (min === undefined && max === undefined) return () => {};
  return (length, value, path, out, show) => {
    if (min !== undefined && length < min) out.push(violation(show(value), path, `Member must have length greater than or equal to ${min}`));
    if (max !== undefined && length > max) out.push(violation(show(value), path, `Member must have length less than or equal to ${max}`));
  };
}

/**
 * Java's POSIX character classes (US-ASCII, as `java.util.regex` defines them), which JavaScript
 * does not know: Application Auto Scaling's names are `\p{Print}+`.
 */
const JAVA_POSIX_CLASSES: Readonly<Record<string, string>> = {
  Print: '\\x20-\\x7E', Graph: '\\x21-\\x7E', Alnum: '0-9A-Za-z', Alpha: 'A-Za-z', Digit: '0-9', Upper: 'A-Z', Lower: 'a-z',
  Punct: '!-\\/:-@\\[-`{-~', Space: ' \\t\\n\\x0B\\f\\r', ASCII: '\\x00-\\x7F',
};

/**
 * AWS matches model patterns against the whole value. The models write them for Java, so `\p{L}`
 * needs the `u` flag and `\p{Print}` a translation; a pattern JavaScript cannot compile either way
 * is not enforced (without the `u` flag `\p{...}` would silently mean the letter p).
 */
export function compilePattern(pattern: string): RegExp | undefined {
  const translated = pattern.replace(/\\p\{(\w+)\}/g, (whole, name: string) => {
    const range = JAVA_POSIX_CLASSES[name];
    return range === undefined ? whole : `[${range}]`;
  });
  for (const flags of ['u', '']) {
    if (flags === '' && translated.includes('\\p{')) return undefined;
    try {
      return new RegExp(`^(?:${translated})$`, flags);
    } catch {
      continue;
    }
  }
  return undefined;
}

interface WireStyle {
  member: (name: string) => string;
  element: (listPath: string, index: number) => string;
  entry: (mapPath: string, key: string, index: number) => string;
  /** How timestamps travel: epoch seconds in JSON; the awsQuery parser turns ISO 8601 into epoch seconds. */
  timestamp: string;
}

const JSON_STYLE: WireStyle = {
  member: (name) => name,
  element: (listPath, index) => `${listPath}[${index}]`,
  entry: (mapPath, key) => `${mapPath}.${key}`,
  timestamp: 'Member must be a timestamp in epoch seconds',
};

const QUERY_STYLE: WireStyle = {
  member: (name) => name.charAt(0).toLowerCase() + name.slice(1),
  element: (listPath, index) => `${listPath}.${index + 1}.member`,
  entry: (mapPath, _key, index) => `${mapPath}.entry.${index + 1}.value`,
  timestamp: 'Member must be a timestamp in ISO 8601 format',
};

function wireStyleOf(model: ServiceModel): WireStyle {
  return model.metadata.protocol === 'query' ? QUERY_STYLE : JSON_STYLE;
}

function requiredRef<T>(ref: T | undefined, what: string): T {
  if (ref === undefined) throw new Error(`Service model shape is missing its ${what}`);
  return ref;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function violation(shownValue: string, path: string, constraint: string): Violation {
  return { message: `Value ${shownValue} at '${path}' failed to satisfy constraint: ${constraint}`, missing: false };
}

/** A value as AWS quotes it in validation messages: `'text'`, `'5'`, `null`, or redacted. */
function showValue(value: unknown, sensitive: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (sensitive) return "'*** Sensitive Data Redacted ***'";
  const text = typeof value === 'string' ? value : typeof value === 'object' ? boundedJson(value, MAX_SHOWN_VALUE_CHARS + 1) : String(value);
  return `'${text.length > MAX_SHOWN_VALUE_CHARS ? `${text.slice(0, MAX_SHOWN_VALUE_CHARS)}...` : text}'`;
}

/** Deeper levels of a value shown in a message are elided. */
const MAX_SHOWN_DEPTH = 32;

/**
 * `JSON.stringify(value)`, but written only up to about `limit` characters and `MAX_SHOWN_DEPTH`
 * levels: a message shows the start of a value, and input nested thousands of levels deep (JSON.parse
 * takes it) would overflow the stack of a whole rendering.
 */
function boundedJson(value: unknown, limit: number): string {
  let out = '';
  const write = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object') {
      out += JSON.stringify(v) ?? 'null';
      return;
    }
    if (depth >= MAX_SHOWN_DEPTH) {
      out += '...';
      return;
    }
    const array = Array.isArray(v);
    out += array ? '[' : '{';
    let first = true;
    for (const [key, item] of Object.entries(v)) {
      if (out.length > limit) return;
      if (!array && item === undefined) continue;
      if (!first) out += ',';
      first = false;
      if (!array) out += `${JSON.stringify(key)}:`;
      write(item, depth + 1);
    }
    out += array ? ']' : '}';
  };
  write(value, 0);
  return out;
}
