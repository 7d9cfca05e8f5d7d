"""gunicorn's access log, read as its config (``gunicorn -c python:textpeak.gunicorn_logs``):
its default line, but with a callback URL's key hidden (``whatsapp.inbound.paths``) and the
request's id (``X-Request-ID``) at the end, which the app's own lines about it carry too."""

from gunicorn.glogging import Logger

from whatsapp.inbound.paths import hide_key


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = hide_key(atoms["r"])
        atoms["U"] = hide_key(atoms["U"] or "")
        return atoms


# The settings gunicorn reads from this module.
accesslog = "-"
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
)
logger_class = AccessLogger
