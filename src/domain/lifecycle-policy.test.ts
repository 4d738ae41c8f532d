import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterException } from '../model/index.js';
import { evaluateLifecyclePolicy, parseLifecyclePolicy, type LifecycleImage } from './lifecycle-policy.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = 100 * DAY;

const image = (digest: string, tags: string[], ageDays: number): LifecycleImage => ({ imageDigest: digest, imageTags: tags, imagePushedAtMs: NOW - ageDays * DAY });
const policy = (...rules: object[]) => parseLifecyclePolicy(JSON.stringify({ rules }));
const rule = (rulePriority: number, selection: object) => ({ rulePriority, selection, action: { type: 'expire' } });

describe('lifecycle policy evaluation', () => {
  it('expires untagged images pushed more than N days ago', () => {
    const p = policy(rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }));
    const expired = evaluateLifecyclePolicy(p, [image('old', [], 20), image('new', [], 3), image('tagged-old', ['v1'], 30)], NOW);
    assert.deepEqual(expired, ['old']);
  });

  it('keeps the newest N images a rule selects', () => {
    const p = policy(rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 }));
    const expired = evaluateLifecyclePolicy(p, [image('a', ['1'], 5), image('b', [], 1), image('c', ['3'], 3), image('d', ['4'], 9)], NOW);
    assert.deepEqual(expired.sort(), ['a', 'd']);
  });

  it('selects tagged images by prefix or by pattern', () => {
    const byPrefix = policy(rule(1, { tagStatus: 'tagged', tagPrefixList: ['dev-'], countType: 'imageCountMoreThan', countNumber: 1 }));
    assert.deepEqual(evaluateLifecyclePolicy(byPrefix, [image('d1', ['dev-1'], 3), image('d2', ['dev-2'], 1), image('p', ['prod'], 9)], NOW), ['d1']);
    const byPattern = policy(rule(1, { tagStatus: 'tagged', tagPatternList: ['release-*-rc'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }));
    assert.deepEqual(evaluateLifecyclePolicy(byPattern, [image('rc', ['release-2-rc'], 3), image('final', ['release-2'], 3)], NOW), ['rc']);
  });

  it('an image a higher-priority rule selects is never expired by a later rule', () => {
    const p = policy(
      rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 10 }),
      rule(2, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
    );
    const expired = evaluateLifecyclePolicy(p, [image('p1', ['prod-1'], 9), image('p2', ['prod-2'], 8), image('x', [], 1), image('y', ['dev'], 2)], NOW);
    assert.deepEqual(expired, ['y']);
  });
});

describe('lifecycle policy rules', () => {
  const refused = (text: string) => assert.throws(() => parseLifecyclePolicy(text), InvalidParameterException, text);
  it('refuses malformed policies with InvalidParameterException', () => {
    refused('not json');
    refused('{"rules":[]}');
    refused(JSON.stringify({ rules: [rule(1, { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 })] }));
    refused(JSON.stringify({ rules: [rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 1 })] }));
    refused(JSON.stringify({ rules: [rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 0 })] }));
    refused(JSON.stringify({ rules: [rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }), rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })] }));
    refused(JSON.stringify({ rules: [rule(2, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }), rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })] }));
    refused(JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'delete' } }] }));
  });
});
