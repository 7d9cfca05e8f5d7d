"""The only code that speaks to Meta: the Cloud API client and its errors, the request
bodies, the demo stand-in, and ``pick.graph_for``, which chooses between them for a stream."""
