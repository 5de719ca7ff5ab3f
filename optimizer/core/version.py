"""The package version and the output schema version (docs/schema.md).

``SCHEMA_VERSION`` changes only when a key of summary.json or a column of the written tables
is renamed, removed or changes meaning; adding one does not change it."""

__version__ = "0.2.0"
SCHEMA_VERSION = 1
