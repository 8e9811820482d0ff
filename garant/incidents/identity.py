"""No patient identity in an adverse-event report: free text and the local reference are
searched for the direct identifiers of the monitoring rule (garant.monitoring.identifiers):
a NIR / INS number with a valid key, an e-mail address, a French phone number. The message
names the field, never the value. The rule for free text lives with the monitoring rule, so
that rights requests (garant.patients) refuse the same identifiers."""

from garant.monitoring.identifiers import identifiers_in, refuse_identifiers

__all__ = ["identifiers_in", "refuse_identifiers"]
