"""Garant: governance of the AI systems a hospital group uses, from idea to routine."""

__version__ = "0.1.0"
