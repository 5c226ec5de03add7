"""The page: one small HTML document, its script and style, served by golive itself (no CDN, no build step).

The files live in ``assets/`` beside this module. Plain JavaScript renders
the release document from ``/api/release`` and redraws whenever the
server-sent event stream says something was recorded; charts are inline SVG.
The browser reconnects to the stream by itself after a server restart
(``EventSource`` retries), and the page says so.
"""

from __future__ import annotations

from importlib import resources

_ASSETS = resources.files("golive.serve") / "assets"

ASSETS = {name: (_ASSETS / name).read_text(encoding="utf-8") for name in ("index.html", "golive.js", "golive.css")}
MEDIA = {"index.html": "text/html", "golive.js": "text/javascript", "golive.css": "text/css"}
