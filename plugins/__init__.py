"""Plugin system of neurograde: hookspecs, plugin manager, registry and definitions."""

import pluggy

from plugins.types import (
    ML_FRAMEWORKS,
    AssignmentDef,
    CheckContext,
    CheckDef,
    Dataset,
    DatasetDef,
    Limits,
    Outcome,
    RubricDef,
    StudentCallError,
)

hookimpl = pluggy.HookimplMarker("neurograde")

__all__ = [
    "ML_FRAMEWORKS", "AssignmentDef", "CheckContext", "CheckDef", "Dataset", "DatasetDef",
    "Limits", "Outcome", "RubricDef", "StudentCallError", "hookimpl",
]
