"""The LTI 1.3 blueprint lives with the rest of the LMS integration in `server.lti`."""

from server.lti.views import bp

__all__ = ["bp"]
