"""jobrunner: a small worker that runs data jobs described in JSON.

A job spec is a JSON document whose objects name their type with an ``"@type"``
key. :func:`build` turns such a document into live objects using the types that
were registered with :func:`register`.

``import jobrunner`` imports nothing else: names resolve on first use, and the
registry imports a plugin module only when a job spec names one of its types.
"""

import hotstart.lazy

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = hotstart.lazy.attach(
    __name__,
    submodules=["cli", "commands", "pipeline", "plugins", "registry", "spec", "util"],
    attrs={"registry": ["build", "names", "register"], "pipeline": ["Pipeline"]},
)
