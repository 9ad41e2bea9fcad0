"""Errors of the grader that callers handle."""


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be started; grading fails closed with this message."""
