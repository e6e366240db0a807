"""hotstart: make Python processes and workers start fast and lean.

Importing this package costs next to nothing: the public names below are loaded on first
use (PEP 562), so a worker can depend on hotstart without paying for its tooling.

    >>> import hotstart
    >>> result = hotstart.profile(hotstart.Target("module", "json.tool", ("--help",)))
    >>> result.main.module("json").cumulative_us.median
"""

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "Target": "hotstart.measure.runner",
    "profile": "hotstart.measure.runner",
    "failure_message": "hotstart.measure.runner",
    "Profile": "hotstart.measure.model",
    "ProcessProfile": "hotstart.measure.model",
    "ModuleRecord": "hotstart.measure.model",
    "ImportTree": "hotstart.measure.model",
    "load_profile": "hotstart.measure.io",
    "save_profile": "hotstart.measure.io",
    "diff_profiles": "hotstart.measure.diff",
    "HotstartError": "hotstart.errors",
    "BadInput": "hotstart.errors",
}

__all__ = ["__version__", *_LAZY]

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs milliseconds
if TYPE_CHECKING:
    from .errors import BadInput, HotstartError
    from .measure.diff import diff_profiles
    from .measure.io import load_profile, save_profile
    from .measure.model import ImportTree, ModuleRecord, ProcessProfile, Profile
    from .measure.runner import Target, failure_message, profile


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hotstart' has no attribute {name!r}")
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
