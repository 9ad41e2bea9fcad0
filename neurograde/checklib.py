"""Trusted helpers for checks: tolerant comparisons, finite differences, gradient
diagnoses (`plugins.checklib` under its public name; its docstring states the one
tolerance policy)."""

from plugins.checklib import *  # noqa: F403
from plugins.checklib import ATOL, FLOAT32_EPS, GRAD_ATOL, GRAD_RTOL, RTOL  # noqa: F401
