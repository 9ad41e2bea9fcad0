"""The neurograde server: the web app (`server.app`) and the grading runtime (`server.runtime`).

Nothing is imported here, so the grading path (`server.runtime`, the `grade`/`check`
commands) never pays for, or depends on, the web stack.
"""
