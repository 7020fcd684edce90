"""JSON Schema of ``axon.yaml`` (``docs/axon.schema.json``), so editors can validate the file."""

from __future__ import annotations

import json
from typing import Any

from axon.spec.user_config import ApiSpec

SCHEMA_ID = "https://github.com/axon-ml/axon/docs/axon.schema.json"


def spec_json_schema() -> dict[str, Any]:
    schema = ApiSpec.model_json_schema(mode="validation")
    schema["$id"] = SCHEMA_ID
    schema["title"] = "axon.yaml"
    return schema


def render_schema() -> str:
    return json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render_schema(), end="")
