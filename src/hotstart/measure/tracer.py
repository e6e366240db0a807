"""hotstart's in-process import tracer, injected into every profiled Python process.

The runner copies this file as ``sitecustomize.py`` into a private directory and puts that
directory first on ``PYTHONPATH``, so every Python process the target starts (console
scripts and subprocess interpreters included) loads it during ``site`` start-up. With
``HOTSTART_TRACE_DIR`` unset it only hands over to the real ``sitecustomize``.

How it measures: CPython routes every fresh import (``import`` statements through C, and
``importlib.import_module``) through ``importlib._bootstrap._find_and_load``, looked up by
name at each call; the ``-X importtime`` clock sits around that same call. We replace it with
a wrapper that notes, per import: clocks, resident set size (one ``pread`` of
``/proc/self/statm``), allocated blocks, thread, and the file:line that asked for it. Each
start and end is written at once as one line to ``<dir>/<pid>-<start>.trace``, so a
process that crashes, hangs or calls ``os._exit`` still leaves everything up to that point.
The wrapper's own cost is measured and written too, and the runner subtracts it.

``HOTSTART_TRACE`` selects what else to record. Timed runs record clocks only and buffer
them (no syscall per import). ``memory`` reads RSS at each import's start and end; ``sync``
writes each record at once, so a process that crashes or hangs loses nothing; ``calls`` (the
profiling run) also runs the C call profiler while an import is in progress ("hot calls": a
call, not an import, may be the cost), counts allocated blocks, and records every import
edge, including imports of modules already loaded.

Only builtin modules may be imported here: anything else would be loaded before the target
and hidden from its profile. The record format is private to `hotstart.measure.runner`.
"""

import sys

_ENV_DIR = "HOTSTART_TRACE_DIR"
#: Comma-separated features: "calls" (call profile, edges, allocated blocks), "memory" (RSS
#: per import), "sync" (write each record at once). Empty: clocks only, buffered.
_ENV_MODE = "HOTSTART_TRACE"
_FLUSH_EVERY = 512  # buffered records per write
_SITE_HOOKS = ("sitecustomize", "usercustomize")
#: Files whose frames are import machinery: importlib, and everything under hotstart/lazy/
#: (its lazy modules, lazy-import hook and lazy subcommands import on behalf of their user).
_MACHINERY = ("importlib/__init__.py", "importlib\\__init__.py",
              "hotstart/lazy/__init__.py", "hotstart\\lazy\\__init__.py",
              "hotstart/lazy/_hook.py", "hotstart\\lazy\\_hook.py",
              "hotstart/lazy/_objects.py", "hotstart\\lazy\\_objects.py",
              "hotstart/lazy/_stand_ins.py", "hotstart\\lazy\\_stand_ins.py",
              "hotstart/lazy/_argparse.py", "hotstart\\lazy\\_argparse.py",
              "hotstart/lazy/cli.py", "hotstart\\lazy\\cli.py")


def _install(out_dir, features):
    import _thread
    import atexit
    import time

    import os

    bootstrap = sys.modules["_frozen_importlib"]
    original = bootstrap._find_and_load
    modules = sys.modules
    get_ident = _thread.get_ident
    getframe = sys._getframe
    clock = time.perf_counter_ns
    calls_mode = "calls" in features
    # Timed runs make no syscall per import: with cold caches in the middle of an import, a
    # pread or write costs several microseconds. RSS is read by the untimed memory run, and
    # getallocatedblocks() (which walks every arena of the heap) by the profiling run.
    read_rss = "memory" in features or calls_mode
    # Sites and origins are facts, not timings: the untimed runs record them.
    structure = read_rss
    sync = "sync" in features or calls_mode
    count_blocks = calls_mode
    blocks = sys.getallocatedblocks
    write = os.write
    pread = os.pread
    here = __file__
    main_thread = get_ident()
    t0 = clock()

    try:
        statm = os.open("/proc/self/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        statm = -1

    # Per-process state, reset in a forked child.
    state = {"out": -1, "seq": 0, "depth": 0}
    buffer = []  # records not yet written (not in sync mode)
    threads = {}  # thread id -> [stack of import seq, tracer overhead ns]
    edges = set() if calls_mode else None  # (importer, imported, site), profiling run only
    # The memory run also times hot calls without any profiler (see _hot_call_sampler).
    sampler = (_hot_call_sampler(state, main_thread, clock, here, os)
               if "memory" in features and not calls_mode else None)
    profiler = None
    event_ns = None  # the call profiler's own cost per call event (see _calibrate)
    if calls_mode:
        try:
            import _lsprof

            profiler = _lsprof.Profiler()
            event_ns = _calibrate(profiler, clock)
        except Exception:  # another profiler is active, or no _lsprof: time imports only
            profiler = None

    def open_output():
        # pid and start time: a process that execs another Python keeps its pid
        path = os.path.join(out_dir, "%d-%d.trace" % (os.getpid(), clock()))
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        state["out"] = os.open(path, flags, 0o600)
        header = {
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "argv": list(getattr(sys, "orig_argv", sys.argv)),
            "executable": sys.executable,
            "version": "%d.%d.%d" % sys.version_info[:3],
            "cache_tag": sys.implementation.cache_tag,
            "stdlib": getattr(sys, "_stdlib_dir", None) or os.path.dirname(os.__file__),
            "path": list(sys.path),
            "cwd": _cwd(os),
            "dont_write_bytecode": bool(sys.dont_write_bytecode),
            "preloaded": sorted(modules),
            "t0": t0,
            "page_size": os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096,
            "features": sorted(features),
            "tracer": here,
        }
        emit("H\t%r\n" % (header,))

    def emit(text):
        out = state["out"]
        if out >= 0:
            try:
                write(out, text.encode("utf-8", "replace"))
            except OSError:
                pass

    def flush():
        if buffer:
            text = "".join(buffer)
            del buffer[:]
            emit(text)

    def caller_site(depth=2):
        try:
            frame = getframe(depth)
        except ValueError:  # imported from C with no Python frame above (e.g. runpy for -m)
            return None
        while frame is not None:
            filename = frame.f_code.co_filename
            # importlib, hotstart's lazy loader and the tracer itself are machinery: the site
            # is the user's statement that set them off
            if (filename.startswith("<frozen importlib") or filename == here
                    or filename.endswith(_MACHINERY)):
                frame = frame.f_back
                continue
            return frame
        return None

    def record_edge(name, frame):
        if frame is None:  # imported by the interpreter itself (e.g. runpy for -m)
            return
        importer = frame.f_globals.get("__name__") or "?"
        edges.add((importer, name, "%s:%d" % (frame.f_code.co_filename, frame.f_lineno)))

    # The hot path: everything per import is inlined (a Python call costs about as much as
    # one of the syscalls), and constants are closure variables rather than state lookups.
    def find_and_load(name, *args, **kwargs):
        entered = clock()
        if name in _SITE_HOOKS:  # site's own lookups: interpreter start-up, not the target
            return original(name, *args, **kwargs)
        if name in modules:
            # A cache hit on the importlib.import_module path: not an import, only an edge.
            if edges is not None:
                record_edge(name, caller_site())
            return original(name, *args, **kwargs)
        tid = get_ident()
        thread = threads.get(tid)
        if thread is None:
            thread = threads[tid] = [[], 0]  # [stack of seq, tracer overhead ns so far]
        stack = thread[0]
        seq = state["seq"] = state["seq"] + 1
        parent = stack[-1] if stack else 0
        site_file, site_line = "", 0
        if structure:
            frame = caller_site()
            if frame is not None:
                site_file = frame.f_code.co_filename.replace("\t", " ")
                site_line = frame.f_lineno
            if edges is not None:
                record_edge(name, frame)
        on_main = tid == main_thread
        if edges is not None:
            if profiler is not None and on_main and state["depth"] == 0:
                profiler.enable()
        if on_main:
            state["depth"] += 1
            if sampler is not None and state["depth"] == 1:
                sampler[0]()
        rss0 = -1
        if read_rss:
            try:
                rss0 = int(pread(statm, 64, 0).split(None, 2)[1])
            except (OSError, ValueError, IndexError):
                pass
        blocks0 = blocks() if count_blocks else -1
        stack.append(seq)
        record = "S\t%d\t%d\t%s\t%d\t%d\t%d\t%s\t%s\t%d\n" % (
            seq, parent, name, entered - t0, rss0, blocks0, "main" if on_main else tid,
            site_file, site_line)
        if sync:
            try:
                write(state["out"], record.encode("utf-8", "replace"))
            except OSError:
                pass
        else:
            buffer.append(record)
        thread[1] += clock() - entered
        ovh0 = thread[1]
        status = "ok"
        start = clock()
        try:
            return original(name, *args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, ModuleNotFoundError) and exc.name == name:
                status = "missing"
            else:
                status = "error:" + type(exc).__name__
            # The user's traceback must not show this frame. Python 3.11+ re-raises with the
            # traceback the exception holds (older versions keep the frame); without it,
            # CPython also trims importlib's frames exactly as it does without hotstart.
            tb = exc.__traceback__
            if tb is not None and tb.tb_next is not None and tb.tb_frame is getframe(0):
                exc.__traceback__ = tb.tb_next
            raise
        finally:
            end = clock()
            ovh1 = thread[1]
            rss1 = -1
            if read_rss:
                try:
                    rss1 = int(pread(statm, 64, 0).split(None, 2)[1])
                except (OSError, ValueError, IndexError):
                    pass
            blocks1 = blocks() if count_blocks else -1
            if stack and stack[-1] == seq:
                stack.pop()
            if on_main:
                state["depth"] -= 1
                if profiler is not None and state["depth"] == 0:
                    profiler.disable()
                if sampler is not None and state["depth"] == 0:
                    sampler[1]()
            origin = ""
            if structure:
                spec = getattr(modules.get(name), "__spec__", None)
                if spec is not None:
                    origin = spec.origin or ""
                    if not origin and spec.submodule_search_locations:
                        origin = "namespace:" + "|".join(spec.submodule_search_locations)
            record = "E\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n" % (
                seq, start - t0, end - t0, ovh1 - ovh0, rss1, blocks1, status,
                origin.replace("\t", " "))
            if sync:
                try:
                    write(state["out"], record.encode("utf-8", "replace"))
                except OSError:
                    pass
            else:
                buffer.append(record)
                if len(buffer) >= _FLUSH_EVERY:
                    flush()
            thread[1] += clock() - end

    def after_fork_in_child():
        # The child writes its own file; imports in progress at fork belong to the parent.
        del buffer[:]
        if sampler is not None:
            sampler[3]()
        threads.clear()
        state["depth"] = 0
        state["seq"] = 0
        if state["out"] >= 0:
            try:
                os.close(state["out"])
            except OSError:
                pass
        open_output()

    def finish():
        bootstrap._find_and_load = original
        if profiler is not None:
            profiler.disable()
        flush()
        report = {"t_exit": clock(), "module_count": len(modules),
                  "main_file": getattr(modules.get("__main__"), "__file__", None)}
        report.update(_proc_memory(os))
        if profiler is not None:
            report["calls"] = _call_stats(profiler, here)
            report["call_event_ns"] = event_ns
        if edges is not None:
            report["edges"] = sorted(edges)
        sampled = sampler[2]() if sampler is not None else None
        if sampled is not None:
            report["hot_samples"] = sampled
        emit("X\t%r\n" % (report,))
        _compile_self(here)

    if calls_mode:
        _trace_import_statements(record_edge, caller_site, modules)

    open_output()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=flush, after_in_child=after_fork_in_child)
    atexit.register(finish)
    if not sync:
        _flush_before_os_exit(os, flush)
    bootstrap._find_and_load = find_and_load


def _cwd(os):
    """The working directory (it says which project is the target's own), if it exists."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _flush_before_os_exit(os, flush):
    """os._exit skips atexit: write the buffered records first (forked workers use it)."""
    real_exit = os._exit

    def _exit(status):
        flush()
        real_exit(status)

    os._exit = _exit


def _trace_import_statements(record_edge, caller_site, modules):
    """Record edges for every import statement, also those naming modules already loaded."""
    import builtins

    original_import = builtins.__import__

    def traced_import(name, globals=None, locals=None, fromlist=(), level=0):
        module = original_import(name, globals, locals, fromlist, level)
        try:
            frame = caller_site(2)
            if fromlist:
                target = module.__name__
                record_edge(target, frame)
                for attr in fromlist:
                    if attr != "*" and (target + "." + attr) in modules:
                        record_edge(target + "." + attr, frame)
            elif level == 0:
                record_edge(name, frame)
        except Exception:
            pass
        return module

    builtins.__import__ = traced_import


def _proc_memory(os):
    """Peak RSS, RSS and USS of this process from /proc (Linux); empty elsewhere."""
    out = {}
    for path, keys in (("/proc/self/status", ("VmHWM", "VmRSS")),
                       ("/proc/self/smaps_rollup", ("Private_Clean", "Private_Dirty", "Pss"))):
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                text = os.read(fd, 65536).decode("ascii", "replace")
            finally:
                os.close(fd)
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key in keys:
                parts = value.split()
                if parts and parts[0].isdigit():
                    out[key] = int(parts[0]) * 1024
    return out


def _hot_call_sampler(state, main_thread, clock, here, os, interval=0.001):
    """Time calls made by module-level code without a profiler: while an import runs on the
    main thread, a timer signal every `interval` s finds the function the innermost
    module-level code called and credits it with the time since the last sample (the
    handler's own time excluded). The profiling run's call profiler slows Python code down
    unevenly (3.11 runs every instruction unspecialized under it), so the hot calls it finds
    take their time from here. A signal, not a thread: a sampling thread would stall the
    main thread at every switch of the GIL, and a loaded machine makes those stalls long.
    An interval in which the thread computed is credited its CPU time (``thread_time``): time
    it waited for a CPU (``/proc/thread-self/schedstat``) is other processes' time. One in
    which it blocked (sleep, I/O) is credited whole, the handler included: a blocking call
    ends at its own deadline, and the waits after each sample's wake-up are inside it.

    Only when the process has no SIGALRM handler or timer of its own, only while imports run;
    it stops for good if the target installs one. Returns the hooks (enter, leave, results,
    after_fork), or None where there is no interval timer."""
    try:
        import _signal
        import time

        sigalrm, timer = _signal.SIGALRM, _signal.ITIMER_REAL
        setitimer, getsignal, set_handler = _signal.setitimer, _signal.getsignal, _signal.signal
        default = _signal.SIG_DFL
    except (ImportError, AttributeError):
        return None
    samples = {}  # (file, first line, qualname) -> [ns, samples]
    control = {"on": True, "active": False, "last": 0, "last_key": None, "conflict": False,
               "cpu": 0, "started": 0}
    thread_time = getattr(time, "thread_time_ns", None)
    try:
        schedstat = os.open("/proc/thread-self/schedstat", os.O_RDONLY | os.O_CLOEXEC)
    except (OSError, AttributeError):
        schedstat = -1

    def cpu_clock():
        """(ns on a CPU, ns runnable waiting for one) so far; None where unknown."""
        if thread_time is None or schedstat < 0:
            return None
        try:
            return thread_time(), int(os.pread(schedstat, 64, 0).split()[1])
        except (OSError, ValueError, IndexError):
            return None

    def elapsed(now, cpu):
        """Time since the last sample that the running code took (see above)."""
        wall = now - control["last"]
        before = control["cpu"]
        if cpu is None or before is None:
            return max(0, wall)
        ran, waited = cpu[0] - before[0], cpu[1] - before[1]
        if wall - ran - waited > 50_000:  # it blocked: all of it, the last handler included
            return now - control["started"]
        return max(0, ran)
    loaders = ("exec_module", "load_module")
    # RESUME, where a function starts (3.11+; older versions have no such instruction)
    resume = (lambda: None).__code__.co_code[0] if sys.version_info >= (3, 11) else -1

    def machinery(code):
        name = code.co_filename
        return name.startswith(("<frozen importlib", "<frozen zipimport")) or name == here \
            or name.endswith(_MACHINERY)

    def import_level(frame):
        """Module code run by an import, or a class body or code `exec`'d by such code (not
        code that a function `exec`s, nor a class defined in a function: those are that
        function's)."""
        while frame is not None:
            code = frame.f_code
            if code.co_flags & 0x2:  # CO_NEWLOCALS: a function
                return False
            back = frame.f_back
            if back is None:
                return False
            if code.co_name == "<module>" and (machinery(back.f_code)
                                               or back.f_code.co_name in loaders):
                return True
            frame = back
        return False

    def hot_call(frame):
        below = None
        while frame is not None:
            code = frame.f_code
            if machinery(code):  # an import in progress: the module tree's time
                return None
            if not code.co_flags & 0x2 and import_level(frame):
                if below is None:  # module code itself
                    return None
                code = below.f_code
                return (code.co_filename, code.co_firstlineno,
                        getattr(code, "co_qualname", code.co_name))
            below = frame
            frame = frame.f_back
        return None

    def credit(key, ns):
        entry = samples.get(key)
        if entry is None:
            samples[key] = [ns, 1]
        else:
            entry[0] += ns
            entry[1] += 1

    def handler(signum, frame):
        now, cpu = clock(), cpu_clock()
        if control["active"]:
            key = None
            try:
                # Python runs a handler where it checks for signals: on entering a function,
                # among others. Straight-line code (a module or class body) checks nowhere, so
                # a signal raised while it ran is handled in the next function it calls: the
                # time is the caller's.
                if frame is not None and frame.f_code.co_code[frame.f_lasti] == resume:
                    frame = frame.f_back
                key = hot_call(frame)
            except Exception:
                pass
            if key is not None:
                credit(key, elapsed(now, cpu))
            control["last_key"] = key
        control["started"] = now
        control["last"], control["cpu"] = clock(), cpu_clock()

    def stop(conflict=True):
        control["on"] = control["active"] = False
        control["conflict"] = control["conflict"] or conflict

    def enter():
        if not control["on"]:
            return
        try:
            if getsignal(sigalrm) != default or _signal.getitimer(timer) != (0.0, 0.0):
                return stop()  # the target times itself with SIGALRM: leave it alone
            set_handler(sigalrm, handler)
            _signal.siginterrupt(sigalrm, False)  # restart interrupted system calls
            control["last"], control["last_key"], control["cpu"] = clock(), None, cpu_clock()
            control["started"] = control["last"]
            control["active"] = True
            setitimer(timer, interval, interval)
        except Exception:
            stop()

    def leave():
        if not control["active"]:
            return
        control["active"] = False
        now = clock()
        if control["last_key"] is not None and now > control["last"]:
            credit(control["last_key"], elapsed(now, cpu_clock()))
        try:
            if getsignal(sigalrm) is handler:
                setitimer(timer, 0, 0)  # first the timer, so no signal finds SIG_DFL
                set_handler(sigalrm, default)
            else:  # the target installed its own handler meanwhile
                if _signal.getitimer(timer)[1] == interval:
                    setitimer(timer, 0, 0)
                stop()
        except Exception:
            stop()

    def results():
        """[(function, ns, samples)], or None if the target's own use of SIGALRM stopped it."""
        leave()
        stop(conflict=False)
        if control["conflict"]:
            return None
        return [(key, ns, n) for key, (ns, n) in samples.items()]

    def after_fork():  # a forked child has no timer, and its imports are its own
        stop()
        samples.clear()

    return enter, leave, results, after_fork


def _calibrate(profiler, clock, rounds=7, count=1000):
    """The call profiler's own cost per call event in ns, [Python function, builtin]: the
    same loop timed with and without it (best of `rounds`). Hot calls subtract it for every
    call made under them, so that they read what removing the call saves."""
    def noop():
        pass

    def python_calls(n):
        for _ in range(n):
            noop()

    def builtin_calls(n, f=len, arg=()):
        for _ in range(n):
            f(arg)

    costs = []
    for loop in (python_calls, builtin_calls):
        plain = profiled = float("inf")
        for _ in range(rounds):
            start = clock()
            loop(count)
            plain = min(plain, clock() - start)
            profiler.enable()
            start = clock()
            loop(count)
            end = clock()
            profiler.disable()
            profiled = min(profiled, end - start)
        costs.append(max(0.0, (profiled - plain) / count))
    profiler.clear()
    return costs


def _call_stats(profiler, here):
    """The call profile as plain data: one row per function with its callers."""
    entries = profiler.getstats()

    def label(code):
        if isinstance(code, str):
            return ("~", 0, code)
        name = getattr(code, "co_qualname", code.co_name)
        return (code.co_filename, code.co_firstlineno, name)

    rows = {}
    for entry in entries:
        key = label(entry.code)
        if key[0] == here:
            continue
        row = rows.get(key)
        if row is None:
            row = rows[key] = [key, 0, 0.0, 0.0, {}, {}]
        row[1] += entry.callcount
        row[2] += entry.inlinetime
        row[3] += entry.totaltime
        for sub in entry.calls or ():
            callee = label(sub.code)
            calls, total = row[5].get(callee, (0, 0.0))
            row[5][callee] = (calls + sub.callcount, total + sub.totaltime)
            callee_row = rows.get(callee)
            if callee_row is None:
                callee_row = rows[callee] = [callee, 0, 0.0, 0.0, {}, {}]
            calls, total = callee_row[4].get(key, (0, 0.0))
            callee_row[4][key] = (calls + sub.callcount, total + sub.totaltime)
    result = []
    for key, calls, inline, total, callers, callees in rows.values():
        if total < 50e-6 and not callers:
            continue
        result.append({
            "function": key,
            "calls": calls,
            "self": inline,
            "total": total,
            "callers": [(k, c, t) for k, (c, t) in callers.items()],
            "callees": [(k, c, t) for k, (c, t) in callees.items() if t >= 50e-6],
        })
    return result


def _compile_self(path):
    """Leave a .pyc of this file, at exit, so that later runs do not compile it at start-up
    (PYTHONDONTWRITEBYTECODE would otherwise make every run pay for it)."""
    cached = getattr(__spec__, "cached", None)
    import os

    if cached and not os.path.exists(cached) and getattr(__spec__, "origin", None) == path:
        try:
            import py_compile

            py_compile.compile(path, cfile=cached, doraise=True)
        except Exception:
            pass


def _chain_to_real_sitecustomize(here=None):
    """Import the sitecustomize we shadow, if the environment has one. `here` is the
    directory of the shadowing one (default: this file's; the lazy trial's child passes
    its own)."""
    import os

    here = here or os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    me = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401  (the environment's own, now that ours is off the path)
    except ImportError as exc:
        if exc.name != "sitecustomize":
            raise
        if me is not None:
            sys.modules["sitecustomize"] = me


def _main():
    import os

    if __name__ != "sitecustomize":
        return
    # The environment's own sitecustomize runs first: `python -c pass` runs it too, so it is
    # part of the interpreter floor, not of the target.
    _chain_to_real_sitecustomize()
    out_dir = os.environ.get(_ENV_DIR)
    if out_dir:
        try:
            _install(out_dir, frozenset(os.environ.get(_ENV_MODE, "").split(",")) - {""})
        except Exception as exc:  # never break the target because the tracer failed
            sys.stderr.write("hotstart: tracer not installed: %s: %s\n" % (type(exc).__name__, exc))


_main()
