"""`hotstart report`: the profile as one self-contained HTML page, to open in any browser.

The page shows, for each traced process (a switcher when there are several, with their
threads): a summary (target, Python, wall, floor, peak RSS, modules); an icicle chart of the
import tree (`#chart`), sized by self time, cumulative time or memory, coloured by kind
(stdlib, third-party, first-party, extension, ...), zoomed by a click, searched by name; the
selected module's details (`#details`); a sortable, filterable table of modules
(`#modules`); the chain explorer (`#chains`): every chain of imports that loads the module
picked, as `--why` finds them; the hot calls (`#hot-calls`); with an audit, each import
site's class and saving beside the module it imports and listed by class (`#audit`); with a
profile from before, what was added, removed and changed (`#diff`), the added modules also
marked in the chart.

Nothing is fetched: the data, the script and the style are inlined, and a
Content-Security-Policy forbids every request (scripts and styles run only when their hash
matches). Every name, path and argv is untrusted text: the data is embedded as JSON that no
value can break out of, and the script builds the page with DOM calls and `textContent`,
never from HTML strings.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import re
from importlib import resources

from ..audit.model import AuditReport
from ..measure.model import Profile
from ._format import printable
from ._html_data import report_data

__all__ = ["render_html"]

#: What a JSON string may hold that must not reach the HTML parser or a JS engine as is:
#: `<`, `>` and `&` (so `</script>` and `<!--` cannot appear inside the data element),
#: U+2028/U+2029 (line terminators for older JS engines), and lone surrogates (which no
#: UTF-8 file can hold; JSON.parse reads them back from `\\udXXX`).
_UNSAFE = re.compile("[<>&\u2028\u2029\ud800-\udfff]")


def render_html(profile: Profile, *, audit: AuditReport | None = None,
                before: Profile | None = None, title: str | None = None) -> str:
    """The report page for `profile`, as text to write to a `.html` file (UTF-8).

    With `audit`, each module shows the import sites that import it (class, reason, saving);
    with `before`, the page compares it with `profile` (the after). `title` defaults to the
    target's command line.
    """
    data = report_data(profile, audit=audit, before=before, title=title)
    script, style = _asset("report.js"), _asset("report.css")
    policy = ("default-src 'none'; "
              f"script-src '{_hash(script)}'; style-src '{_hash(style)}'; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    heading = html.escape(printable(data["title"]))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{heading}</title>\n"
        f"<style>{style}</style>\n"
        "</head>\n<body>\n"
        '<noscript><p>This report is drawn by its inline script: allow '
        "JavaScript for this file to see it.</p></noscript>\n"
        f'<script type="application/json" id="data">{_embed_json(data)}</script>\n'
        f"<script>{script}</script>\n"
        "</body>\n</html>\n"
    )


def _embed_json(value: object) -> str:
    """`value` as compact JSON that is safe inside a `<script>` element: no character of a
    string can end the element or start markup (see `_UNSAFE`)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


@functools.cache
def _asset(name: str) -> str:
    """The page's script or style, shipped as package data next to this module."""
    text = resources.files(__package__).joinpath("_html", name).read_text("utf-8")
    # Inlined as is: they must not end their own element early.
    closing = "</script" if name.endswith(".js") else "</style"
    if closing in text.lower():
        raise RuntimeError(f"{name} contains {closing}, which would end it inside the page")
    return text


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")
