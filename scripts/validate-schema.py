"""Validates YAML specs against Intermesh's JSON Schema with the off-the-shelf `jsonschema` package."""
import json
import sys

import jsonschema
import yaml


def main() -> int:
    schema_path, *specs = sys.argv[1:]
    with open(schema_path, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failed = 0
    for spec in specs:
        with open(spec, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
        for error in errors:
            path = ".".join(str(part) for part in error.path)
            print(f"{spec}: schema: {path}: {error.message}", file=sys.stderr)
        failed += bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
