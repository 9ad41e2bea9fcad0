"""neurograde's public API for plugin authors: import everything from here.

    from neurograde import check, expect_close, hookimpl, load_assignment

The repository's top-level packages (`plugins`, `grader`, `server`, `assignments`)
are the implementation; this package is their stable face, as `datasette` is for
Datasette plugins. See docs/plugins.md.
"""

from plugins import hookimpl
from plugins.checklib import (
    as_array,
    as_float,
    central_difference,
    close,
    diagnose_gradients,
    elementwise_derivative,
    expect_close,
    expect_gradient,
    gradient_feedback,
    mismatch,
    threshold_credit,
)
from plugins.checks import check, collect_checks, expect, fail, reuse_checks
from plugins.handouts import Handout, handout_for, handout_languages
from plugins.loader import assignment_hook, load_assignment
from plugins.types import (
    ML_FRAMEWORKS,
    AssignmentDef,
    CheckContext,
    CheckDef,
    CheckFailed,
    Dataset,
    DatasetDef,
    Limits,
    Metric,
    NoPicture,
    Outcome,
    RenderContext,
    RendererDef,
    RubricDef,
    StudentCallError,
)

__all__ = [
    "ML_FRAMEWORKS", "AssignmentDef", "CheckContext", "CheckDef", "CheckFailed", "Dataset",
    "DatasetDef", "Handout", "Limits", "Metric", "NoPicture", "Outcome", "RenderContext",
    "RendererDef", "RubricDef", "StudentCallError", "as_array", "as_float", "assignment_hook",
    "central_difference", "check", "close", "collect_checks", "diagnose_gradients",
    "elementwise_derivative", "expect", "expect_close", "expect_gradient", "fail",
    "gradient_feedback", "handout_for", "handout_languages", "hookimpl", "load_assignment",
    "mismatch", "reuse_checks", "threshold_credit",
]
