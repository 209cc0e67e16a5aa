"""Markdown text on a page, rendered on the server."""

from __future__ import annotations

import markdown
import solara


@solara.component
def Prose(text: str) -> None:
    """Markdown rendered on the server, styled as Solara's Markdown.

    ``solara.Markdown`` fetches mermaid.js from the CDN on every page, and Solara's offline
    assets lack it: a failed request on every page. Prose text needs none of it.
    """
    html = markdown.markdown(text, extensions=["tables"])
    solara.HTML(
        tag="div", unsafe_innerHTML=html, classes=["rendered_html", "jp-RenderedHTMLCommon"]
    )
