#!/usr/bin/env python3
"""Checks docs/policy.schema.json against the documents this repository says are valid or not.

The schema must be a valid JSON Schema (draft 2020-12); it must accept every bundle of the
conformance vectors (policy_store/conformance/*.json) and the first example of
docs/policy-language.md; and it must refuse the invalid bundles whose mistakes are of shape
(unknown fields, types, actions, patterns, clauses), which a schema can see. Mistakes only the
validator can see (cycles, undefined roles, separation of duty) are not asked of the schema.

Usage: check_schema.py <repository root>. Exit status 0 when all holds, 1 otherwise.
"""
import glob
import json
import os
import re
import sys

import jsonschema

# Invalid vectors a schema can refuse on shape alone.
SHAPE_ERRORS = ["document_shape.json", "actions_and_patterns.json", "row_security.json"]


def main(root):
    with open(os.path.join(root, "docs", "policy.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failures = []

    valid = sorted(glob.glob(os.path.join(root, "policy_store", "conformance", "*.json")))
    if not valid:
        failures.append("no conformance vectors found")
    for path in valid:
        with open(path) as f:
            bundle = json.load(f)["bundle"]
        for error in validator.iter_errors(bundle):
            failures.append(f"{os.path.basename(path)}: refused at /{'/'.join(map(str, error.path))}: {error.message}")

    with open(os.path.join(root, "docs", "policy-language.md")) as f:
        example = re.search(r"```json\n(.*?)```", f.read(), re.S)
    if example is None:
        failures.append("docs/policy-language.md has no JSON example")
    else:
        for error in validator.iter_errors(json.loads(example.group(1))):
            failures.append(f"docs example refused: {error.message}")

    for name in SHAPE_ERRORS:
        with open(os.path.join(root, "policy_store", "conformance", "invalid", name)) as f:
            bundle = json.load(f)["bundle"]
        if validator.is_valid(bundle):
            failures.append(f"invalid/{name}: accepted, but its mistakes are of shape")

    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
