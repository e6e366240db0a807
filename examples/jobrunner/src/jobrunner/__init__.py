"""jobrunner: a small worker that runs data jobs described in JSON.

A job spec is a JSON document whose objects name their type with an ``"@type"``
key. :func:`build` turns such a document into live objects using the types that
were registered with :func:`register`.
"""

from jobrunner.registry import build, names, register

__version__ = "0.1.0"

__all__ = ["Pipeline", "__version__", "build", "names", "register"]

# Make every plugin available: importing the plugin package registers all of
# its sources, steps and sinks, and the pipeline module registers "pipeline",
# so that any "@type" a job spec mentions can be built.
from jobrunner import plugins  # noqa: E402,F401
from jobrunner.pipeline import Pipeline  # noqa: E402
