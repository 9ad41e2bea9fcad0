"""A throwaway assignment plugin for the student-side web tests.

Registered in a fresh plugin manager by each test module (fixture `pm`), so the web
tests do not depend on the built-in course.
"""

from __future__ import annotations

from pathlib import Path

from plugins import hookimpl
from plugins.types import AssignmentDef, CheckDef, Limits, Outcome

HANDOUT = """# Toy assignment

Write `double(x)`. Raw HTML is shown as text: <script>alert("handout")</script>

[unsafe](javascript:alert(1)) · [docs](https://numpy.org)

```python
def double(x):
    return 2 * x
```
"""

STARTER = "def double(x):\n    raise NotImplementedError\n"
MAX_KB = 4


def _passes(_ctx) -> Outcome:
    return Outcome(True, "ok")


class ToyPlugin:
    @hookimpl
    def neurograde_register_assignments(self):
        return [AssignmentDef(
            slug="toy", title="Toy doubling", handout=HANDOUT, starter=STARTER,
            reference_path=Path(__file__), summary="Double a number.",
            checks=(CheckDef("double_two", _passes, points=1, visibility="visible"),
                    CheckDef("double_random", _passes, points=2, hint="try negatives")),
            limits=Limits(max_source_kb=MAX_KB), metric="accuracy",
        )]


def toy_pm():
    from plugins.manager import get_plugin_manager

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(ToyPlugin(), name="toy-plugin")
    return pm
