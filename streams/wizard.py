"""The Create New Stream wizard: a stream type's setup steps, each its own URL and form.

A type lists its steps (see ``StreamType.setup_steps``); each step is a view taking the request
and a :class:`Wizard`, which knows where the step sits and where Save & Next, Back and
Save as draft lead. A stream exists as a Draft from the first save.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from streams import services
from streams.models import Stream

# The submit buttons every step shares. Back saves too (without Save & Next's checks), so
# nothing typed on a step is lost by going back to the one before.
SAVE_AND_NEXT = "next"
BACK = "back"
SKIP = "skip"


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    view: Callable[[HttpRequest, "Wizard"], HttpResponse]
    optional: bool = False


class Wizard:
    def __init__(self, *, request: HttpRequest, stream_type, stream: Stream | None, slug: str):
        self.request = request
        self.stream_type = stream_type
        self.stream = stream
        self.steps: list[Step] = stream_type.setup_steps()
        self.index = next(i for i, step in enumerate(self.steps) if step.slug == slug)

    @property
    def step(self) -> Step:
        return self.steps[self.index]

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def is_last(self) -> bool:
        return self.index == len(self.steps) - 1

    @property
    def editing(self) -> bool:
        """Editing a stream that is already in use: saving keeps its status."""
        return self.stream is not None and not self.stream.is_draft

    def url(self, step: Step) -> str:
        if self.stream is None:
            return self.stream_type.create_url()
        return reverse("streams:setup", args=[self.stream.uid, step.slug])

    def reachable(self, index: int) -> bool:
        """Steps up to the first unfinished one can be opened from the step indicator."""
        progress = self.stream.setup_progress if self.stream else 0
        return self.stream is not None and index <= progress

    @property
    def indicator(self) -> list[dict]:
        return [
            {
                "number": i + 1,
                "title": step.title,
                "current": i == self.index,
                "done": self.stream is not None and i < self.stream.setup_progress,
                "url": self.url(step) if self.reachable(i) and i != self.index else "",
            }
            for i, step in enumerate(self.steps)
        ]

    @property
    def back_url(self) -> str:
        return self.url(self.steps[self.index - 1]) if self.index else ""

    @property
    def action(self) -> str:
        return self.request.POST.get("action", "")

    def render(self, template: str, context: dict, *, status: int = 200) -> HttpResponse:
        return render(self.request, template, {"wizard": self, **context}, status=status)

    @property
    def completing(self) -> bool:
        """The step must be complete, not just saved as it is: on Save & Next, and on any save
        of a stream in use (only drafts may be incomplete)."""
        return self.action == SAVE_AND_NEXT or self.editing

    def saved(self, stream: Stream) -> HttpResponse:
        """Where a successful save leads: the next step, the one before, or the list."""
        self.stream = stream
        if self.action in (SAVE_AND_NEXT, SKIP):
            services.stream_mark_progress(stream=stream, steps_done=self.number)
            if not self.is_last:
                return redirect(self.url(self.steps[self.index + 1]))
        if self.action == BACK and self.index:
            return redirect(self.back_url)
        if stream.is_draft:
            messages.success(self.request, f"Draft “{stream.name}” saved.")
        else:
            messages.success(self.request, f"“{stream.name}” saved.")
        return redirect("streams:list")
