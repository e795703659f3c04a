"""Building reports: the report plan (which notebook with which parameters), running one
notebook with Papermill, and building many with the index and manifest.

Imports the report wing, the engine and the contract; only the CLI imports it.
"""

from __future__ import annotations
