"""Stream types: each kind of stream is one registered class.

A type's app registers it in its ``AppConfig.ready``; the streams page lists every registered
type in the *Create Stream API* pop-up, behind the beta gate when the type names a feature.
The type owns its wizard steps and side-panel tabs, so the streams app never imports a type's
app: adding a type is adding a class, not editing the streams app.
"""

from django.urls import reverse


class StreamType:
    slug: str
    name: str
    description: str
    beta_feature: str | None = None
    # Path prefixes only programs call (the type's API, its provider's callbacks): they skip
    # the browser's middleware (``textpeak.lib.machine``).
    machine_paths: tuple[str, ...] = ()

    def create_url(self) -> str:
        return reverse("streams:create", args=[self.slug])

    def setup_steps(self) -> list:
        """The wizard's steps (``streams.wizard.Step``), in order; the first is the details."""
        raise NotImplementedError

    def panel_tabs(self) -> list:
        """The side panel's tabs (``streams.panel.Tab``), in order; the first is Info."""
        raise NotImplementedError

    def banners(self, stream) -> list[str]:
        """Warnings the side panel shows above every tab (something needs the user)."""
        return []

    def ready_problem(self, stream) -> str:
        """What keeps the stream from being Ready (Create Stream, Enable), said to the user;
        empty when nothing does."""
        return ""

    def messages_in_flight(self, stream):
        """The stream's messages still on their way (a QuerySet), which make a Ready stream
        show as Sending; None for a type without messages. ``stream`` may be an ``OuterRef``
        to a stream, so the streams list asks in its own query."""
        return None

    def problems(self, stream):
        """What about the stream a person must fix (a QuerySet), which makes it show as Needs
        attention; None for a type that has none. ``stream`` may be an ``OuterRef``, as for
        ``messages_in_flight``."""
        return None

    def message_statistics(self, stream) -> list[dict]:
        """The Info tab's rows: each message status's ``status`` and ``label``, and how many
        messages have it ``today``, this ``week`` and in ``total``."""
        return []

    def message_charts(self, stream) -> list:
        """The Info tab's charts of the stream's recent messages (``streams.charts``)."""
        return []

    def message_export_url(self, stream) -> str:
        """Where the Info tab's export of a period's messages downloads from (GET, with an
        ``ExportPeriodForm``'s fields); empty for a type without one."""
        return ""

    def sample_event(self, stream) -> dict:
        """A typical event of the stream's webhook, for the request preview and the Test
        webhook button. Fixed values, never random or the current time, so a preview does not
        change on every keystroke."""
        raise NotImplementedError

    def release(self, stream) -> None:
        """A Disabled stream was enabled: hand the messages it held to the workers at once.
        Runs in the enabling transaction."""

    def forget(self, stream) -> None:
        """Drop what a deleted stream no longer needs (credentials, webhooks) and reject the
        messages it will never send; its history stays. Runs in the deleting transaction."""
        raise NotImplementedError


_registry: dict[str, StreamType] = {}


def register(stream_type: type[StreamType]) -> type[StreamType]:
    _registry[stream_type.slug] = stream_type()
    return stream_type


def find(slug: str) -> StreamType | None:
    return _registry.get(slug)


def all_types() -> list[StreamType]:
    return list(_registry.values())


def machine_paths() -> tuple[str, ...]:
    """Every registered type's ``machine_paths``; read once, when the middleware is built."""
    return tuple(path for stream_type in all_types() for path in stream_type.machine_paths)
