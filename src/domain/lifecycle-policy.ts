/**
 * ECR lifecycle policies, pure: parsing with ECR's rules, and evaluation of a policy against a
 * repository's images at a given time. Rules run in rulePriority order; an image whose tags a rule
 * selects belongs to that rule, and no later rule can expire it. `imageCountMoreThan` keeps the
 * newest `countNumber` images the rule selects; `sinceImagePushed` expires those pushed more than
 * `countNumber` days ago.
 */
import { InvalidParameterException } from '../model/index.js';

export type TagStatus = 'tagged' | 'untagged' | 'any';

export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: {
    tagStatus: TagStatus;
    tagPrefixList?: string[];
    tagPatternList?: string[];
    countType: 'imageCountMoreThan' | 'sinceImagePushed';
    countUnit?: 'days';
    countNumber: number;
  };
  action: { type: 'expire' };
}

export interface LifecyclePolicy { rules: LifecycleRule[] }

/** What evaluation needs of an image. */
export interface LifecycleImage { imageDigest: string; imageTags: string[]; imagePushedAtMs: number }

const DAY_MS = 24 * 60 * 60 * 1000;

function invalid(reason: string): InvalidParameterException {
  return new InvalidParameterException(`Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: '${reason}'`);
}

/** Parses a lifecycle policy document, throwing InvalidParameterException with ECR's reason. */
export function parseLifecyclePolicy(text: string): LifecyclePolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid('Lifecycle policy validation failure: Could not map policyString into LifecyclePolicy.');
  }
  const rules = (doc as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules) || rules.length === 0) throw invalid('rules must be a non-empty array');
  const parsed = rules.map((r, i) => parseRule(r, i));
  const priorities = new Set<number>();
  for (const r of parsed) {
    if (priorities.has(r.rulePriority)) throw invalid(`rulePriority ${r.rulePriority} is used by more than one rule`);
    priorities.add(r.rulePriority);
  }
  const highest = Math.max(...priorities);
  for (const r of parsed) {
    if (r.selection.tagStatus === 'any' && r.rulePriority !== highest) {
      throw invalid("a rule with tagStatus 'any' must have the highest rulePriority");
    }
  }
  return { rules: parsed.sort((a, b) => a.rulePriority - b.rulePriority) };
}

function parseRule(value: unknown, index: number): LifecycleRule {
  const where = `rules[${index}]`;
  if (typeof value !== 'object' || value === null) throw invalid(`${where} must be an object`);
  const r = value as Record<string, unknown>;
  const priority = r['rulePriority'];
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 1) throw invalid(`${where}.rulePriority must be a positive integer`);
  const action = r['action'] as Record<string, unknown> | undefined;
  if (action?.['type'] !== 'expire') throw invalid(`${where}.action.type must be 'expire'`);
  const s = r['selection'] as Record<string, unknown> | undefined;
  if (typeof s !== 'object' || s === null) throw invalid(`${where}.selection is required`);
  const tagStatus = s['tagStatus'];
  if (tagStatus !== 'tagged' && tagStatus !== 'untagged' && tagStatus !== 'any') throw invalid(`${where}.selection.tagStatus must be tagged, untagged or any`);
  const countType = s['countType'];
  if (countType !== 'imageCountMoreThan' && countType !== 'sinceImagePushed') {
    throw invalid(`${where}.selection.countType must be imageCountMoreThan or sinceImagePushed`);
  }
  const countNumber = s['countNumber'];
  if (typeof countNumber !== 'number' || !Number.isInteger(countNumber) || countNumber < 1) throw invalid(`${where}.selection.countNumber must be a positive integer`);
  if (countType === 'sinceImagePushed' && s['countUnit'] !== 'days') throw invalid(`${where}.selection.countUnit must be 'days' with sinceImagePushed`);
  if (countType === 'imageCountMoreThan' && s['countUnit'] !== undefined) throw invalid(`${where}.selection.countUnit is not allowed with imageCountMoreThan`);
  const prefixes = stringList(s['tagPrefixList'], `${where}.selection.tagPrefixList`);
  const patterns = stringList(s['tagPatternList'], `${where}.selection.tagPatternList`);
  if (tagStatus === 'tagged' && !prefixes && !patterns) throw invalid(`${where}: a tagged rule needs tagPrefixList or tagPatternList`);
  if (tagStatus !== 'tagged' && (prefixes || patterns)) throw invalid(`${where}: tagPrefixList and tagPatternList are only allowed with tagStatus tagged`);
  if (prefixes && patterns) throw invalid(`${where}: give tagPrefixList or tagPatternList, not both`);
  return {
    rulePriority: priority,
    ...(typeof r['description'] === 'string' ? { description: r['description'] } : {}),
    selection: {
      tagStatus, countType, countNumber,
      ...(countType === 'sinceImagePushed' ? { countUnit: 'days' as const } : {}),
      ...(prefixes ? { tagPrefixList: prefixes } : {}),
      ...(patterns ? { tagPatternList: patterns } : {}),
    },
    action: { type: 'expire' },
  };
}

function stringList(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    throw invalid(`${where} must be a non-empty list of non-empty strings`);
  }
  return value as string[];
}

/** ECR's tag patterns: `*` matches any run of characters, everything else matches itself. */
function patternMatches(pattern: string, tag: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(tag);
}

function selects(rule: LifecycleRule, image: LifecycleImage): boolean {
  const s = rule.selection;
  if (s.tagStatus === 'any') return true;
  if (s.tagStatus === 'untagged') return image.imageTags.length === 0;
  if (image.imageTags.length === 0) return false;
  // A prefix list selects an image with a tag of any listed prefix; a pattern list, an image
  // whose tags match every listed pattern (each by some tag), as ECR documents.
  if (s.tagPrefixList) return image.imageTags.some((t) => s.tagPrefixList!.some((p) => t.startsWith(p)));
  return s.tagPatternList!.every((p) => image.imageTags.some((t) => patternMatches(p, t)));
}

/** The digests the policy expires now, in no particular order. */
export function evaluateLifecyclePolicy(policy: LifecyclePolicy, images: readonly LifecycleImage[], nowMs: number): string[] {
  const claimed = new Set<string>();
  const expired: string[] = [];
  for (const rule of policy.rules) {
    const selected = images.filter((i) => !claimed.has(i.imageDigest) && selects(rule, i));
    for (const i of selected) claimed.add(i.imageDigest);
    const s = rule.selection;
    if (s.countType === 'imageCountMoreThan') {
      const newestFirst = [...selected].sort((a, b) => b.imagePushedAtMs - a.imagePushedAtMs || a.imageDigest.localeCompare(b.imageDigest));
      expired.push(...newestFirst.slice(s.countNumber).map((i) => i.imageDigest));
    } else {
      const cutoff = nowMs - s.countNumber * DAY_MS;
      expired.push(...selected.filter((i) => i.imagePushedAtMs < cutoff).map((i) => i.imageDigest));
    }
  }
  return expired;
}
