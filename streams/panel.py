"""The side panel: a stream type's tabs, each a view that renders as a drawer or a full page."""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from streams.models import Stream

DRAWER_ID = "stream-panel"


@dataclass(frozen=True)
class Tab:
    slug: str
    title: str
    view: Callable[[HttpRequest, "Panel"], HttpResponse]


class Panel:
    def __init__(self, *, request: HttpRequest, stream: Stream, stream_type, slug: str):
        self.request = request
        self.stream = stream
        self.tabs: list[Tab] = stream_type.panel_tabs()
        self.banners: list[str] = stream_type.banners(stream)
        self.tab = next(tab for tab in self.tabs if tab.slug == slug)

    @property
    def in_drawer(self) -> bool:
        """Loaded by htmx into the streams page's drawer, rather than opened as its own page."""
        htmx = self.request.htmx
        return bool(htmx) and htmx.target == DRAWER_ID

    def url(self, tab: Tab) -> str:
        if tab is self.tabs[0]:
            return reverse("streams:detail", args=[self.stream.uid])
        return reverse("streams:tab", args=[self.stream.uid, tab.slug])

    @property
    def links(self) -> list[dict]:
        return [
            {"title": tab.title, "url": self.url(tab), "current": tab is self.tab}
            for tab in self.tabs
        ]

    @property
    def current_url(self) -> str:
        return self.url(self.tab)

    def render(self, template: str, context: dict, *, status: int = 200) -> HttpResponse:
        base = "streams/drawer.html" if self.in_drawer else "console.html"
        context = {"panel": self, "stream": self.stream, "panel_base": base, **context}
        return render(self.request, template, context, status=status)
