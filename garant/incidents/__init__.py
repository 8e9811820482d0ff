"""Adverse events (FEI) involving an AI system, their qualification and the regulatory reports
each one requires, with their clocks (docs/incidents.md). Garant prepares reports; it never
transmits them."""
