"""Import-time hot spots found in the source: calls to known expensive functions made while
a module is imported, directly or through the project's own functions (`log = get_logger()`
at module level, where `get_logger` calls `inspect.stack()`).

One module-level call is one hot spot, however many expensive functions it reaches (a
profile measures its time once); `callers_of` names every project function on the way that
calls one itself, which is what the `hot-calls` codemod rewrites. Calls under `if __name__ == "__main__":` are the script's
job, not import-time work, and are left out."""

from __future__ import annotations

from ._scan import ModuleScan
from .model import HotSpot

__all__ = ["EXPENSIVE", "find_hotspots"]

_FRAMES = ("frames", ("builds a FrameInfo (with source lines read from disk) for every "
                      "frame on the stack, and scans sys.modules for each"),
           ("take the frame directly: sys._getframe(k) for inspect.stack()[k], with the k "
            "written there (a helper reached through another keeps its 2), then "
            ".f_globals['__name__']; `hotstart fix --select hot-calls` makes that rewrite "
            "in a caller-name helper"))
_CURRENTFRAME = ("frames", ("needs the inspect module (with ast, dis, tokenize and enum: "
                            "milliseconds to import) for a frame that sys._getframe gives "
                            "without it"),
                 ("use sys._getframe(0) (and sys._getframe(n) for n `.f_back`s): "
                  "`hotstart fix --select hot-calls` rewrites it"))
_GETMODULE = ("frames", "scans every module in sys.modules (and their files) to find one",
              "use the object's __module__ and sys.modules[...]")
_SOURCE = ("source", "reads and tokenizes source files at import",
           "read source only when it is needed, inside a function")
_METADATA = ("metadata", "scans every installed distribution's metadata on sys.path",
             ("read entry points or versions on first use (functools.cache), or use "
              "__version__"))
_PKG_RESOURCES = ("metadata", "pkg_resources scans every distribution when imported or used",
                  "use importlib.metadata, on first use")
_SUBPROCESS = ("subprocess", "starts a process while importing",
               "run it on first use and cache the result")
_NETWORK = ("network", "waits on the network while importing", "do it on first use")
_FILESYSTEM = ("filesystem", "walks the file system while importing",
               "walk on first use and cache the result")
_SSL = ("ssl", "loads and parses the CA bundle", "create the context on first use")
_SLEEP = ("sleep", "sleeps while importing", "remove it from module level")

EXPENSIVE: dict[str, tuple[str, str, str]] = {
    "inspect.stack": _FRAMES,
    "inspect.getouterframes": _FRAMES,
    "inspect.getinnerframes": _FRAMES,
    "inspect.trace": _FRAMES,
    "inspect.getframeinfo": _FRAMES,
    "inspect.currentframe": _CURRENTFRAME,
    "inspect.getmodule": _GETMODULE,
    "inspect.getsource": _SOURCE,
    "inspect.getsourcelines": _SOURCE,
    "inspect.getsourcefile": _SOURCE,
    "inspect.findsource": _SOURCE,
    "traceback.extract_stack": _FRAMES,
    "traceback.format_stack": _FRAMES,
    "traceback.print_stack": _FRAMES,
    "importlib.metadata.entry_points": _METADATA,
    "importlib.metadata.distributions": _METADATA,
    "importlib.metadata.distribution": _METADATA,
    "importlib.metadata.version": _METADATA,
    "importlib.metadata.metadata": _METADATA,
    "importlib.metadata.packages_distributions": _METADATA,
    "importlib_metadata.entry_points": _METADATA,
    "importlib_metadata.version": _METADATA,
    "importlib_metadata.distributions": _METADATA,
    "pkg_resources.iter_entry_points": _PKG_RESOURCES,
    "pkg_resources.get_distribution": _PKG_RESOURCES,
    "pkg_resources.require": _PKG_RESOURCES,
    "pkg_resources.resource_filename": _PKG_RESOURCES,
    "subprocess.run": _SUBPROCESS,
    "subprocess.Popen": _SUBPROCESS,
    "subprocess.check_output": _SUBPROCESS,
    "subprocess.check_call": _SUBPROCESS,
    "subprocess.call": _SUBPROCESS,
    "subprocess.getoutput": _SUBPROCESS,
    "subprocess.getstatusoutput": _SUBPROCESS,
    "os.system": _SUBPROCESS,
    "os.popen": _SUBPROCESS,
    "platform.processor": _SUBPROCESS,
    "platform.architecture": _SUBPROCESS,
    "platform.platform": _SUBPROCESS,
    "ctypes.util.find_library": (*_SUBPROCESS[:1], "may run ldconfig, gcc or objdump",
                                 _SUBPROCESS[2]),
    "socket.getfqdn": _NETWORK,
    "socket.gethostbyname": _NETWORK,
    "socket.getaddrinfo": _NETWORK,
    "urllib.request.urlopen": _NETWORK,
    "requests.get": _NETWORK,
    "requests.post": _NETWORK,
    "httpx.get": _NETWORK,
    "glob.glob": _FILESYSTEM,
    "glob.iglob": _FILESYSTEM,
    "os.walk": _FILESYSTEM,
    "ssl.create_default_context": _SSL,
    "time.sleep": _SLEEP,
}


def find_hotspots(scans: dict[str, ModuleScan], max_depth: int = 4) -> list[HotSpot]:
    """Every import-time call that is, or reaches through project functions, an expensive one."""
    functions = {f"{name}.{qual}": info for name, scan in scans.items()
                 for qual, info in scan.functions.items()}
    memo: dict[str, list[tuple[str, list[str]]]] = {}

    def reaches(function: str, depth: int, seen: frozenset[str]) -> list[tuple[str, list[str]]]:
        """Expensive calls a project function makes: [(expensive, via chain)]."""
        if function in memo:
            return memo[function]
        info = functions.get(function)
        found: list[tuple[str, list[str]]] = []
        if info is not None and depth < max_depth:
            for callee, _line in info.calls:
                if callee in EXPENSIVE:
                    found.append((callee, [function]))
                elif callee in functions and callee not in seen:
                    found.extend((hot, [function, *via])
                                 for hot, via in reaches(callee, depth + 1, seen | {callee}))
        # one chain per expensive function and project function that calls it: a fix
        # rewrites each of those functions (`HotSpot.callers_of`)
        unique = list({(hot, via[-1]): (hot, via) for hot, via in found}.values())
        memo[function] = unique
        return unique

    spots: list[HotSpot] = []
    for name, scan in scans.items():
        for callee, line, context in scan.import_calls:
            if any(first <= line <= last for first, last in scan.main_blocks):
                continue  # the script's job, run as __main__: not import-time work
            found = [(callee, [])] if callee in EXPENSIVE else reaches(callee, 0,
                                                                        frozenset({callee}))
            if not found:
                continue
            # One call, one time: a call that reaches several expensive functions is one
            # hot spot (a profile measures it once), named after the first one it reaches.
            hot, via = found[0]
            kind, why, advice = EXPENSIVE[hot]
            others = list(dict.fromkeys(other for other, _ in found[1:] if other != hot))
            if others:
                why += "; it also calls " + ", ".join(
                    f"{other} ({EXPENSIVE[other][1]})" for other in others)
            callers_of = {f"{function[-1]}:{other}": None for other, function in found
                          if function}
            spots.append(HotSpot(file=scan.file, module=name, line=line, call=hot, kind=kind,
                                 why=why, advice=advice, via=via, context=context,
                                 callers_of=list(callers_of)))
    return spots
