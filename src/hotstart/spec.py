"""`hotstart.spec`: job spec -> the minimal list of modules to preload.

The implementation lives beside the registry it reads (`hotstart.registry.spec`); this is its
public name. See that module for the details.
"""

from .registry.spec import (PRELOAD_ENV, TYPE_KEY, AliasTable, Preload, SpecError, TypeUse,
                            compute_preload, decode_preload, encode_preload, load_spec, type_uses)

__all__ = ["TYPE_KEY", "PRELOAD_ENV", "SpecError", "TypeUse", "AliasTable", "Preload",
           "load_spec", "type_uses", "compute_preload", "encode_preload", "decode_preload"]
