"""The grader: static checks, sandboxed child, wire protocol and check engine. No Flask here."""
