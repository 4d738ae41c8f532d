#!/usr/bin/env python3
"""Trims botocore's service models into src/api/validation/models/<service>.json.

Usage: python3 scripts/gen-service-models.py [service ...]     (default: ecs ecr)
       e.g. python3 scripts/gen-service-models.py ecs ecr logs application-autoscaling elbv2

The output keeps what the wire protocols and input validation need (metadata, operations with
their input/output/error shapes, and each shape's type, members, constraints and serialization
hints) and drops documentation, examples and deprecation notes. One operation or shape per line,
so a botocore upgrade shows up as a readable diff.
"""
import gzip
import json
import os
import sys

import botocore

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src', 'api', 'validation', 'models')

METADATA_KEYS = ('protocol', 'jsonVersion', 'targetPrefix', 'signingName', 'endpointPrefix', 'apiVersion', 'serviceId',
                 'xmlNamespace')
SHAPE_KEYS = ('type', 'required', 'enum', 'min', 'max', 'pattern', 'document', 'union', 'sensitive', 'exception', 'fault',
              'error', 'timestampFormat', 'flattened', 'locationName', 'xmlNamespace', 'event', 'eventstream')
MEMBER_KEYS = ('shape', 'locationName', 'xmlNamespace', 'xmlAttribute', 'flattened', 'timestampFormat', 'jsonvalue',
               'idempotencyToken', 'location', 'queryName', 'hostLabel', 'eventpayload')
REFERENCE_KEYS = ('member', 'key', 'value')


def load(service):
    data_dir = os.path.join(os.path.dirname(botocore.__file__), 'data', service)
    if not os.path.isdir(data_dir):
        sys.exit(f'no botocore model for service {service!r} in {data_dir}')
    api_version = sorted(os.listdir(data_dir))[-1]
    path = os.path.join(data_dir, api_version, 'service-2.json.gz')
    with gzip.open(path, 'rt', encoding='utf-8') as f:
        return json.load(f)


def pick(source, keys):
    return {k: source[k] for k in keys if k in source}


def trim_shape(shape):
    out = pick(shape, SHAPE_KEYS)
    if 'members' in shape:
        out['members'] = {name: pick(ref, MEMBER_KEYS) for name, ref in shape['members'].items()}
    for key in REFERENCE_KEYS:
        if key in shape:
            out[key] = pick(shape[key], MEMBER_KEYS)
    return out


def trim_operation(op):
    out = {}
    if 'input' in op:
        out['input'] = op['input']['shape']
    if 'output' in op:
        out['output'] = op['output']['shape']
        if 'resultWrapper' in op['output']:
            out['outputWrapper'] = op['output']['resultWrapper']
    out['errors'] = [e['shape'] for e in op.get('errors', [])]
    return out


def trim(model):
    metadata = pick(model['metadata'], METADATA_KEYS)
    # Several services (logs, elbv2) omit signingName: clients then sign with the endpoint prefix.
    metadata.setdefault('signingName', model['metadata']['endpointPrefix'])
    return {
        'metadata': metadata,
        'operations': {name: trim_operation(op) for name, op in sorted(model['operations'].items())},
        'shapes': {name: trim_shape(shape) for name, shape in sorted(model['shapes'].items())},
    }


def dump(trimmed):
    def line(value):
        return json.dumps(value, ensure_ascii=False, separators=(',', ':'))

    def section(entries):
        return '{\n' + ',\n'.join(f'  {line(k)}:{line(v)}' for k, v in entries.items()) + '\n }'

    return ('{\n'
            f' "botocoreVersion":{line(botocore.__version__)},\n'
            f' "metadata":{line(trimmed["metadata"])},\n'
            f' "operations":{section(trimmed["operations"])},\n'
            f' "shapes":{section(trimmed["shapes"])}\n'
            '}\n')


def main(services):
    os.makedirs(OUT_DIR, exist_ok=True)
    for service in services:
        out = os.path.join(OUT_DIR, f'{service}.json')
        with open(out, 'w', encoding='utf-8') as f:
            f.write(dump(trim(load(service))))
        print(f'wrote {os.path.relpath(out)}')


if __name__ == '__main__':
    main(sys.argv[1:] or ['ecs', 'ecr'])
