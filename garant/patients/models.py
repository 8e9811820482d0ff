"""Patients: information notices, the public register of AI in use, rights requests,
objections per system and purpose, and verifiable deletion (issue 15)."""

# objections per system and purpose, erasure runs and their certificates (issue 15 items 4-5)
from garant.patients.erasure import ErasureRun  # noqa: E402, F401
from garant.patients.objections import Objection  # noqa: E402, F401
