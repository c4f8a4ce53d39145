"""PATCH bodies: JSON merge patch, strategic merge patch and JSON patch, as the server applies them.

Strategic merge is the kind the ``kubernetes`` client and ``kubectl`` send for
a dict body on built-in types; its lists merge by a key (containers by
``name``, conditions by ``type``, owner references by ``uid``) where the Go
types say so, ``finalizers`` merge as a set, and everything else (taints,
tolerations) is replaced whole. The ``$patch``, ``$retainKeys``,
``$setElementOrder`` and ``$deleteFromPrimitiveList`` directives are honoured.
Custom resources refuse strategic merge with 415, as the real server does.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.support.kube.errors import ApiError, JsonObject

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "addresses": "type",
    "resourceClaims": "name",
}
_SET_LISTS = frozenset({"finalizers"})
_CONTAINERS = frozenset({"containers", "initContainers", "ephemeralContainers"})


def apply_patch(content_type: str, target: JsonObject, patch: Any, *, custom: bool) -> JsonObject:
    """``target`` with ``patch`` applied, by the media type the client sent."""
    kind = content_type.split(";", maxsplit=1)[0].strip()
    if kind == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise ApiError(
                400, "json: cannot unmarshal array into Go value of type map[string]interface {}"
            )
        merged = merge_patch(target, patch)
        assert isinstance(merged, dict)
        return merged
    if kind == STRATEGIC_MERGE_PATCH and not custom:
        if not isinstance(patch, dict):
            raise ApiError(
                400, "json: cannot unmarshal array into Go value of type map[string]interface {}"
            )
        return strategic_merge_patch(target, patch)
    if kind == JSON_PATCH:
        return json_patch(target, patch)
    accepted = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
    if not custom:
        accepted.insert(2, STRATEGIC_MERGE_PATCH)
    raise ApiError(
        415,
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{', '.join(accepted)}",
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: JsonObject, patch: JsonObject) -> JsonObject:
    merged = _merge_map(target, patch, ())
    assert merged is not None
    return merged


def _merge_map(target: Any, patch: JsonObject, path: tuple[str, ...]) -> JsonObject | None:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    clean = {k: v for k, v in patch.items() if k != "$patch"}
    if directive == "replace":
        stripped: JsonObject = _strip_directives(clean)
        return stripped
    result = dict(target) if isinstance(target, dict) else {}
    retain = clean.pop("$retainKeys", None)
    for key, value in clean.items():
        if key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.partition("/")[2]
            gone = set(map(_hashable, value or []))
            result[field] = [v for v in result.get(field) or [] if _hashable(v) not in gone]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(result.get(key), value, (*path, key))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, (*path, key))
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_key(path: tuple[str, ...]) -> str | None:
    field = path[-1]
    if field == "ports":
        return "containerPort" if len(path) > 1 and path[-2] in _CONTAINERS else "port"
    return _MERGE_KEYS.get(field)


def _merge_list(target: Any, patch: list[Any], path: tuple[str, ...]) -> list[Any]:
    current = list(target) if isinstance(target, list) else []
    if path[-1] in _SET_LISTS:
        return current + [v for v in patch if v not in current]
    key = _merge_key(path)
    if key is None or not all(isinstance(item, dict) for item in patch):
        return _strip_directives(patch)  # type: ignore[no-any-return]
    if any(item.get("$patch") == "replace" for item in patch):
        return [_strip_directives(i) for i in patch if i.get("$patch") != "replace"]
    for item in patch:
        at = next(
            (
                i
                for i, c in enumerate(current)
                if isinstance(c, dict) and c.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if at is not None:
                del current[at]
        elif at is None:
            current.append(_strip_directives(item))
        else:
            merged = _merge_map(current[at], item, path)
            if merged is not None:
                current[at] = merged
    return current


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else repr(value)


def json_patch(target: JsonObject, operations: Any) -> JsonObject:
    """RFC 6902 with RFC 6901 pointers; a failed operation is a 422, as the server answers."""
    if not isinstance(operations, list):
        raise ApiError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    document: Any = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise ApiError(422, "Unexpected kind: <nil>")
        op, path = operation["op"], operation.get("path", "")
        try:
            if op == "add":
                document = _put(document, path, copy.deepcopy(operation["value"]), insert=True)
            elif op == "remove":
                document, _ = _take(document, path)
            elif op == "replace":
                _locate(document, path)
                document = _put(document, path, copy.deepcopy(operation["value"]), insert=False)
            elif op in ("move", "copy"):
                source = operation["from"]
                if op == "move":
                    document, value = _take(document, source)
                else:
                    value = copy.deepcopy(_locate(document, source))
                document = _put(document, path, value, insert=True)
            elif op == "test":
                if _locate(document, path) != operation.get("value"):
                    raise ValueError(f"testing value {path} failed")
            else:
                raise ValueError(f"Unexpected kind: {op}")
        except (KeyError, IndexError, TypeError, ValueError) as error:
            text = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
            raise ApiError(
                422, f"the server rejected our request due to an error in our request: {text}"
            ) from None
    if not isinstance(document, dict):
        raise ApiError(422, "the patched document is not an object")
    return document


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer must start with '/': {path}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(holder: list[Any], part: str, *, insert: bool) -> int:
    if part == "-" and insert:
        return len(holder)
    at = int(part)
    if at < 0 or at > len(holder) or (at == len(holder) and not insert):
        raise IndexError(f"index out of range: {part}")
    return at


def _locate(document: Any, path: str) -> Any:
    holder = document
    for part in _pointer(path):
        if isinstance(holder, list):
            holder = holder[_index(holder, part, insert=False)]
        elif isinstance(holder, dict):
            if part not in holder:
                raise KeyError(f"missing value at {path}")
            holder = holder[part]
        else:
            raise TypeError(f"cannot descend into {path}")
    return holder


def _put(document: Any, path: str, value: Any, *, insert: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = (
        _locate(
            document, "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts[:-1])
        )
        if parts[:-1]
        else document
    )
    last = parts[-1]
    if isinstance(parent, list):
        at = _index(parent, last, insert=insert)
        if insert:
            parent.insert(at, value)
        else:
            parent[at] = value
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise TypeError(f"cannot add into {path}")
    return document


def _take(document: Any, path: str) -> tuple[Any, Any]:
    parts = _pointer(path)
    if not parts:
        raise ValueError("cannot remove the whole document")
    parent = (
        _locate(
            document, "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts[:-1])
        )
        if parts[:-1]
        else document
    )
    last = parts[-1]
    if isinstance(parent, list):
        return document, parent.pop(_index(parent, last, insert=False))
    if isinstance(parent, dict):
        if last not in parent:
            raise KeyError(f"missing value at {path}")
        return document, parent.pop(last)
    raise TypeError(f"cannot remove from {path}")
