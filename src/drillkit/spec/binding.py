"""Bind a drill's intents to a target: fill ``${variables}`` and re-check the result.

The drill and its digest stay target-neutral; binding happens at plan time.
Every filled-in intent is validated again, so a target variable that turns a
URL into nonsense is reported as the target's mistake, by name.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from drillkit.errors import UserInputError
from drillkit.spec.variables import placeholders, substitute

ModelT = TypeVar("ModelT", bound=BaseModel)


def missing_variables(data: object, variables: dict[str, str]) -> list[str]:
    """Placeholders used in ``data`` that ``variables`` does not define, sorted."""
    return sorted(placeholders(data) - set(variables))


def bind(model: ModelT, variables: dict[str, str], *, target: str, where: str) -> ModelT:
    """A copy of ``model`` with placeholders filled from the target's variables."""
    data = model.model_dump(by_alias=True, mode="json", exclude_defaults=False)
    missing = missing_variables(data, variables)
    if missing:
        raise UserInputError(
            f"{where} uses {', '.join('${' + m + '}' for m in missing)}, which target "
            f"`{target}` does not define",
            fix=f"add them under `variables:` of target `{target}` in targets.yaml",
        )
    try:
        return type(model).model_validate(substitute(data, variables))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise UserInputError(
            f"{where}: after filling target `{target}`'s variables, {field} is invalid: "
            f"{first['msg']}",
            fix=f"check the `variables:` of target `{target}` in targets.yaml",
        ) from None
