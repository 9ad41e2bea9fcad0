"""Business operations on the models, shared by views, the API and the CLI.

Services take a SQLAlchemy session and flush; the caller commits (one
transaction per request or command). They raise `server.errors` exceptions
with messages written for the person who asked.
"""
