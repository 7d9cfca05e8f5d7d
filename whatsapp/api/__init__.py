"""The stream APIs for client applications: ``send`` (send and status), ``media``, the
OpenAPI document (``openapi``) and its docs page (``docs``), and the ready-to-copy ``examples``."""
