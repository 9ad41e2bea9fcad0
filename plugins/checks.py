"""Declarative checks: one decorated function per graded line of feedback.

    @check("sigmoid examples", points=1, visible=True, hint="σ(0) = 0.5")
    def sigmoid_examples(ctx):
        expect_close("sigmoid(0)", ctx.call("sigmoid", 0.0), 0.5, show_expected=True)
        return "sigmoid(0) is right"

The function reads top to bottom: a failed comparison raises `CheckFailed` (or the
student's code raises `StudentCallError`) and becomes a failed `Outcome` carrying its
message; reaching the end passes with the returned message. The decorator produces a
`CheckDef`, so code that builds `CheckDef`s by hand keeps working, and `collect_checks`
gathers a module's checks in definition order.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType

from plugins.types import CheckContext, CheckDef, CheckFailed, Outcome, StudentCallError

#: what a check function may return: an Outcome, or a message (passed), or None (passed)
CheckReturn = Outcome | str | None


def check(name: str, *, points: float = 1.0, visible: bool = False,
          hint: str = "") -> Callable[[Callable[[CheckContext], CheckReturn]], CheckDef]:
    """Make the decorated function a graded check called `name`.

    `visible` checks run in students' local `neurograde check` and may show expected
    values; hidden ones (the default) must not. `hint` is added to the message when
    the check fails (an `Outcome.hint` or `CheckFailed.hint` replaces it).
    """

    # the check belongs to the module that declares it, even when it wraps a function
    # shared between assignments (collect_checks keeps each module's own)
    module = sys._getframe(1).f_globals.get("__name__")

    def decorate(function: Callable[[CheckContext], CheckReturn]) -> CheckDef:
        run = _outcome_of(function)
        run.__module__ = module or run.__module__
        return CheckDef(name=name, run=run, points=points,
                        visibility="visible" if visible else "hidden", hint=hint)

    return decorate


def _outcome_of(function: Callable[[CheckContext], CheckReturn]
                ) -> Callable[[CheckContext], Outcome]:
    @functools.wraps(function)
    def run(ctx: CheckContext) -> Outcome:
        try:
            returned = function(ctx)
        except CheckFailed as failed:
            return Outcome(False, str(failed), hint=failed.hint)
        except StudentCallError as error:
            return Outcome(False, str(error))
        if isinstance(returned, Outcome):
            return returned
        return Outcome(True, returned or "")

    return run


def fail(message: str, hint: str | None = None) -> None:
    """Fail the running check with `message` (written for the student)."""
    raise CheckFailed(message, hint)


def expect(condition: bool, message: str, hint: str | None = None) -> None:
    """Fail the running check with `message` unless `condition` holds."""
    if not condition:
        raise CheckFailed(message, hint)


def reuse_checks(checks: Iterable[CheckDef], *, points: Mapping[str, float] | None = None,
                 ) -> tuple[CheckDef, ...]:
    """Checks declared once in a shared module, made the calling checks module's own
    (so `collect_checks` collects them there, in the place of this call); `points`
    replaces the points of the checks it names."""
    owner = sys._getframe(1).f_globals.get("__name__")
    return tuple(dataclasses.replace(c, run=_owned_by(c.run, owner),
                                     points=(points or {}).get(c.name, c.points))
                 for c in checks)


def _owned_by(run: Callable[[CheckContext], Outcome], owner: str | None,
              ) -> Callable[[CheckContext], Outcome]:
    @functools.wraps(run)
    def owned(ctx: CheckContext) -> Outcome:
        return run(ctx)

    owned.__module__ = owner or run.__module__
    return owned


def collect_checks(module: ModuleType) -> tuple[CheckDef, ...]:
    """The checks defined in `module`, in definition order: `@check` functions,
    `CheckDef` values and tuples of them (a check made for each of several parameters).
    Ones imported from elsewhere are left out; each counts once."""
    found: dict[int, CheckDef] = {}
    for value in vars(module).values():
        group = value if isinstance(value, tuple | list) else (value,)
        if group and all(isinstance(c, CheckDef) for c in group):
            found.update((id(c), c) for c in group if _defined_in(c, module))
    return tuple(found.values())


def _defined_in(check_def: CheckDef, module: ModuleType) -> bool:
    return getattr(check_def.run, "__module__", module.__name__) == module.__name__
