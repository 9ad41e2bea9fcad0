"""LMS integration: neurograde as an LTI 1.3 / LTI Advantage tool.

- `models`: platform registrations, LMS contexts bound to courses, linked accounts,
  line items and the grade passback jobs with their audit log
- `keys`: the tool's RSA key pair (instance folder) and its JWKS
- `toolconf`: registrations from the database, in the form PyLTI1p3 reads them
- `storage`: the launch state PyLTI1p3 keeps (nonces, launch data) in the database
- `accounts`: a launch creates or finds the user and enrols them (LMS role mapping)
- `ags`: line items and scores; `nrps`: roster sync; `passback`: the retried jobs
- `views`: the blueprint (login initiation, launch, deep linking, JWKS, admin page)
- `cli`: `neurograde lti ...`
"""
