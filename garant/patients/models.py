"""Patients: information notices, the public register of AI in use, rights requests,
objections per system and purpose, and verifiable deletion (issue 15)."""
