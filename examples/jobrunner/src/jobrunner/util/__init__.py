"""Small helpers shared by the CLI, the pipeline and the plugins."""

from .frames import frame_summary, to_frame
from .paths import DEFAULT_INPUT, resolve_input

__all__ = ["DEFAULT_INPUT", "frame_summary", "resolve_input", "to_frame"]
