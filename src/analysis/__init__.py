"""Stalking outcomes by police force in England and Wales.

Readers for the Home Office "Police recorded crime and outcomes open data tables", a generator of
demo data in the same layout with known truth, and the analyses built on them.
"""

__version__ = "0.1.0"
