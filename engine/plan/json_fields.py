"""Fields of JSON outputs: `${steps.meta.outputs.info.sha}` (docs/plans.md, "JSON outputs").

The output is parsed as JSON and the path walked over plain data: an object's field (exact name
first, then ignoring case, as GitHub's fromJSON() does), an array's item by its number.
"""

from __future__ import annotations

import json

from engine.plan.expressions.values import to_text
from engine.plan.variables import OutputFieldError


def field_text(output: str, step_id: str, name: str, fields: tuple[str, ...]) -> str:
    """The text of a field of a JSON output; OutputFieldError when it is not there."""
    where = f'output "{name}" of step "{step_id}"'
    try:
        value: object = json.loads(output)
    except (ValueError, RecursionError):
        path = ".".join((name, *fields))
        raise OutputFieldError(f'{where} is not JSON, so it has no field "{path}"') from None
    for depth, key in enumerate(fields):
        path = ".".join((name, *fields[: depth + 1]))
        if isinstance(value, dict):
            if key not in value:
                folded = [k for k in value if k.lower() == key.lower()]
                if not folded:
                    raise OutputFieldError(f'{where} has no field "{path}"')
                key = folded[0]
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise OutputFieldError(f'{where} has no field "{path}"')
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return to_text(value)
