"""Meta's webhooks in: checked at the ``callback``, kept (``payloads``), parsed (``parse``),
stored (``store``, ``statuses``) and handed to the stream's webhook (``events``)."""
