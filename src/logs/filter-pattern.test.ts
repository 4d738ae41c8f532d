import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilterPattern, FilterPatternError, splitFields } from './filter-pattern.js';

const matching = (pattern: string, messages: string[]) => messages.filter(compileFilterPattern(pattern));

describe('term patterns', () => {
  const lines = ['ERROR disk full', 'WARN low memory', 'INFO Exiting now', 'ERROR Exiting after failure', 'error lower case'];

  it('an empty pattern matches everything', () => {
    assert.deepEqual(matching('', lines), lines);
    assert.deepEqual(matching('   ', lines), lines);
  });

  it('plain terms must all be present, case-sensitively', () => {
    assert.deepEqual(matching('ERROR', lines), ['ERROR disk full', 'ERROR Exiting after failure']);
    assert.deepEqual(matching('ERROR Exiting', lines), ['ERROR Exiting after failure']);
  });

  it('quoted phrases match as a whole, with escapes', () => {
    assert.deepEqual(matching('"disk full"', lines), ['ERROR disk full']);
    assert.deepEqual(matching('"full disk"', lines), []);
    assert.deepEqual(matching('"say \\"hi\\""', ['he said "hi"', 'say "hi" now']), ['say "hi" now']);
  });

  it('? terms match any of them; - terms exclude', () => {
    assert.deepEqual(matching('?ERROR ?WARN', lines), ['ERROR disk full', 'WARN low memory', 'ERROR Exiting after failure']);
    assert.deepEqual(matching('ERROR -Exiting', lines), ['ERROR disk full']);
    assert.deepEqual(matching('-"disk full" ?ERROR ?INFO', lines), ['INFO Exiting now', 'ERROR Exiting after failure']);
  });

  it('refuses malformed term patterns, naming the problem', () => {
    assert.throws(() => compileFilterPattern('"unterminated'), /unterminated quoted string starting at position 1/);
    assert.throws(() => compileFilterPattern('ERROR ?'), /empty term at position 7/);
    assert.throws(() => compileFilterPattern('ab"c'), /unexpected '"'/);
    assert.throws(() => compileFilterPattern('"a"b'), FilterPatternError);
  });
});

describe('JSON patterns', () => {
  const events = [
    '{"level":"error","latency":120,"user":{"id":"u-1","tags":["a","b"]},"ok":false,"gone":null}',
    '{"level":"info","latency":20,"user":{"id":"u-2"},"ok":true}',
    '{"level":"error-ish","latency":"75"}',
    'not json { "level": "error" }',
    '[1,2]',
  ];

  it('string equality, wildcards and inequality', () => {
    assert.deepEqual(matching('{ $.level = "error" }', events), [events[0]]);
    assert.deepEqual(matching('{ $.level = error* }', events), [events[0], events[2]]);
    assert.deepEqual(matching('{ $.level != "error" }', events), [events[1], events[2]]);
    assert.deepEqual(matching('{ $.user.id = "u-2" }', events), [events[1]]);
    assert.deepEqual(matching('{ $.user.tags[1] = "b" }', events), [events[0]]);
  });

  it('numeric comparisons', () => {
    assert.deepEqual(matching('{ $.latency > 50 }', events), [events[0], events[2]]);
    assert.deepEqual(matching('{ $.latency <= 20 }', events), [events[1]]);
    assert.deepEqual(matching('{ $.latency = 120 }', events), [events[0]]);
  });

  it('&&, || and parentheses, && binding tighter', () => {
    assert.deepEqual(matching('{ $.level = "error" && $.latency > 100 }', events), [events[0]]);
    assert.deepEqual(matching('{ $.level = "info" || $.latency > 100 }', events), [events[0], events[1]]);
    assert.deepEqual(matching('{ ($.level = "info" || $.level = "error") && $.ok IS FALSE }', events), [events[0]]);
  });

  it('IS NULL, IS TRUE, EXISTS, NOT EXISTS', () => {
    assert.deepEqual(matching('{ $.gone IS NULL }', events), [events[0]]);
    assert.deepEqual(matching('{ $.ok IS TRUE }', events), [events[1]]);
    assert.deepEqual(matching('{ $.user EXISTS }', events), [events[0], events[1]]);
    assert.deepEqual(matching('{ $.user NOT EXISTS }', events), [events[2]]);
  });

  it('refuses malformed JSON patterns, naming the problem', () => {
    assert.throws(() => compileFilterPattern('{ $.level = "error"'), /must end with '}'/);
    assert.throws(() => compileFilterPattern('{ }'), /JSON pattern is empty/);
    assert.throws(() => compileFilterPattern('{ level = "x" }'), /selector starting with '\$' at position 3/);
    assert.throws(() => compileFilterPattern('{ $.level ~ "x" }'), /expected an operator/);
    assert.throws(() => compileFilterPattern('{ $.latency > "x" }'), /'>' needs a number/);
    assert.throws(() => compileFilterPattern('{ $.a = 1 && }'), /expected a selector/);
    assert.throws(() => compileFilterPattern('{ ($.a = 1 }'), /expected '\)'/);
    assert.throws(() => compileFilterPattern('{ $.a IS MAYBE }'), /NULL, TRUE or FALSE/);
    assert.throws(() => compileFilterPattern('{ $.a = 1 $.b = 2 }'), /expected '&&', '\|\|' or '}'/);
  });
});

describe('space-delimited patterns', () => {
  const lines = [
    '127.0.0.1 frank [10/Oct/2000:13:25:15 -0700] "GET /a.gif HTTP/1.0" 200 1534',
    '10.0.0.2 - [10/Oct/2000:13:25:16 -0700] "GET /missing HTTP/1.0" 404 12',
    '10.0.0.3 - [10/Oct/2000:13:25:17 -0700] "POST /x HTTP/1.0" 500 7000',
  ];

  it('splits fields at spaces, keeping quoted and bracketed runs whole', () => {
    assert.deepEqual(splitFields(lines[0]!), ['127.0.0.1', 'frank', '10/Oct/2000:13:25:15 -0700', 'GET /a.gif HTTP/1.0', '200', '1534']);
  });

  it('matches by field conditions, with ... for any fields', () => {
    assert.deepEqual(matching('[ip, user, timestamp, request, status_code = 404, bytes]', lines), [lines[1]]);
    assert.deepEqual(matching('[..., status_code = 5*, bytes > 1000]', lines), [lines[2]]);
    assert.deepEqual(matching('[ip = 10.*, ...]', lines), [lines[1], lines[2]]);
    assert.deepEqual(matching('[..., status_code = 200 || status_code = 404, bytes]', lines), [lines[0], lines[1]]);
    assert.deepEqual(matching('[a, b]', lines), []);
  });

  it('refuses malformed space-delimited patterns', () => {
    assert.throws(() => compileFilterPattern('[ip, user'), /must end with '\]'/);
    assert.throws(() => compileFilterPattern('[ip, ip]'), /named twice/);
    assert.throws(() => compileFilterPattern('[ip, 3x]'), /field name or '\.\.\.'/);
    assert.throws(() => compileFilterPattern('[ip ~ 3]'), /operator after 'ip'/);
  });
});
