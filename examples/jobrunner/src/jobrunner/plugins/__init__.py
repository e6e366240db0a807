"""Built-in plugins.

Importing this package registers every built-in source, step and sink.
"""

from . import aggregate, filters, sinks, sources, stats, text, transforms

__all__ = ["aggregate", "filters", "sinks", "sources", "stats", "text", "transforms"]
