"""The outbox: a send accepted (``accept``, checked by ``validate``), sent (``send``: claim,
pace, call, record) and swept up (``sweep``)."""
