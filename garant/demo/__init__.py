"""A clearly fictional demonstration group (four CHUs, ~40 AI systems, one user per role).

The data is `demo.yaml` (content, in French); `load.py` writes it through the models.
"""
