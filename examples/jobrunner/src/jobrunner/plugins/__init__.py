"""Built-in plugins: sources, steps and sinks.

Nothing is imported here. The registry finds which module registers a type
name from the source, without importing it, and imports that module when a job
spec first asks for the type; a job that never uses pandas never imports it.
"""

import hotstart.lazy

__getattr__, __dir__, __all__ = hotstart.lazy.attach(
    __name__,
    submodules=["aggregate", "filters", "sinks", "sources", "stats", "text", "transforms"],
)
