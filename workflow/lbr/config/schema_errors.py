"""One sentence for a configuration that the JSON schema refuses: the key's path, its value, what is wrong and
how to fix it (with a "did you mean" for a misspelt key or value), instead of jsonschema's dump of the schema."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable

KINDS = {
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}
BOUNDS = {
    "minimum": "at least {}",
    "exclusiveMinimum": "more than {}",
    "maximum": "at most {}",
    "exclusiveMaximum": "less than {}",
}


def key_path(parts: Iterable) -> str:
    """`fig4.shares.top[0]` for the path ['fig4', 'shares', 'top', 0]."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shown(value, limit: int = 60) -> str:
    """A value as YAML would show it in flow style ("1.5", 3, [0, 1], {top: ...}), cut to `limit` characters."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def kind_of(value) -> str:
    """What a YAML value is, in the schema's words."""
    if isinstance(value, bool):
        return KINDS["boolean"]
    names = {str: "string", int: "integer", float: "number", list: "array", dict: "object", type(None): "null"}
    return KINDS.get(names.get(type(value), ""), type(value).__name__)


def did_you_mean(word, choices: Iterable) -> str | None:
    """The closest of `choices` to a misspelt `word` (difflib), or None when none is close."""
    found = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return found[0] if found else None


def sentence(error, level_problem: Callable[[str, object], str] | None = None, prefix: Iterable = ()) -> str:
    """One sentence for a jsonschema ValidationError (the best of them: `jsonschema.exceptions.best_match`).
    `level_problem(path, value)` words the errors of a subspace level (schema $defs/share_or_grid); `prefix` is
    the key path of the validated part (a fig4.by_dataset entry is validated as the fig4 section it yields)."""
    path = key_path([*prefix, *error.absolute_path])
    value, rule, schema = error.instance, error.validator_value, error.schema
    if error.validator == "additionalProperties":
        return unknown_keys(path, value, schema)
    if level_problem is not None and schema.get("$comment") == "subspace level":
        return level_problem(path, value)
    where = path or "the configuration"
    if error.validator == "type":
        kinds = [KINDS[t] for t in ([rule] if isinstance(rule, str) else rule)]
        quoted = "text" in kinds and isinstance(value, int | float) and not isinstance(value, bool)
        quote = f' (write it in quotes: "{value}")' if quoted else ""
        return f"{where} is {shown(value)} ({kind_of(value)}), but must be {' or '.join(kinds)}{quote}."
    if error.validator == "enum":
        close = did_you_mean(value, rule) if isinstance(value, str) else None
        hint = f"; did you mean {close}?" if close else "."
        return f"{where} is {shown(value)}, not one of {', '.join(shown(v) for v in rule)}{hint}"
    if error.validator in BOUNDS:
        return f"{where} is {shown(value)}, but must be {BOUNDS[error.validator].format(rule)}."
    if error.validator in ("minItems", "maxItems"):
        least = "at least" if error.validator == "minItems" else "at most"
        return f"{where} is {shown(value)}, but must list {least} {rule} item{'s' * (rule != 1)}."
    if error.validator == "minProperties":
        keys = ", ".join(schema.get("properties", {}))
        return f"{where} is {shown(value)}, but must set at least {rule} of its keys ({keys})."
    if error.validator == "required":
        missing = [k for k in rule if k not in value]
        enums = {k: p["enum"] for k, p in schema.get("properties", {}).items() if "enum" in p}
        named = [f"{k} ({' or '.join(map(str, enums[k]))})" if k in enums else k for k in missing]
        return f"{where} lacks the key{'s' * (len(missing) > 1)} {and_list(named)}; add {_it(missing)}."
    if error.validator == "pattern":
        about = f" ({schema['description']})" if "description" in schema else ""
        return f"{where} is {shown(value)}, which is not of the form {rule}{about}."
    about = f": {schema['description'].strip()}" if "description" in schema else ""
    return f"{where} is {shown(value)}, which is not an accepted value{about}."


def unknown_keys(path: str, mapping: dict, schema: dict) -> str:
    """Keys that a mapping with fixed keys does not have, each with the closest known key."""
    known = list(schema.get("properties", {}))
    unknown = [k for k in mapping if k not in known]
    prefix = f"{path}." if path else ""
    close = [did_you_mean(k, known) for k in unknown]
    guesses = [f"did you mean {prefix}{c}?" if c else "" for c in close]
    if known:
        listing = f"the settings {f'of {path}' if path else 'at the top level'} are {', '.join(known)}"
    else:
        listing = f"{path} takes no settings"
    if path == "datasets":
        what = "is not a built-in dataset" if len(unknown) == 1 else "are not built-in datasets"
        names = and_list([f"{prefix}{k}" for k in unknown])
        hint = f"; {guesses[0]}" if len(unknown) == 1 and close[0] else "."
        where = f"datasets sets options of {', '.join(known)}; your own data goes under custom_datasets"
        return f"{names} {what} ({where}){hint}"
    if len(unknown) == 1:
        return f"{prefix}{unknown[0]} is not a setting; {guesses[0] or listing + '.'}"
    named = and_list([f"{prefix}{k}" + (f" ({g})" if g else "") for k, g in zip(unknown, guesses)])
    return f"{named} are not settings" + ("." if all(close) else f"; {listing}.")


def and_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def _it(keys: list[str]) -> str:
    return "it" if len(keys) == 1 else "them"
