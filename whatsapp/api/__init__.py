"""The stream APIs for client applications: ``send`` (send and status), ``media``, the
OpenAPI document and its docs page (``openapi``), and the ready-to-copy ``examples``."""
