"""Compressed answers: `make serve` has no proxy in front, so the app itself gzips (or brotlis) its text.

Flask-Compress does the work and chooses by the request's Accept-Encoding (browsers offer brotli
only over HTTPS; over the counter's plain HTTP they get gzip), adds `Vary: Accept-Encoding`, marks
an ETag with the encoding and answers a conditional request with 304. Only text is compressed
(pages, stylesheets, scripts, JSON, SVG), and only above COMPRESS_MIN_SIZE bytes: a PDF, a
picture or a download (CSV, XLSX, a backup) goes out as it is. A streamed answer (a download or
a report written as it is produced) is never held back to be compressed; a static file is sent
by Werkzeug as a stream too, but it is small and read whole, so it is compressed like a page.
"""

from flask import Flask, Response, request
from flask_compress import Compress

#: What is worth compressing: text the browser reads, never a download.
MIMETYPES = [
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "image/svg+xml",
]

SETTINGS = {
    "COMPRESS_MIMETYPES": MIMETYPES,
    # Below this a compressed answer saves less than its headers cost.
    "COMPRESS_MIN_SIZE": 500,
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    # Brotli's quality 5 compresses a page in about the time gzip's level 6 takes.
    "COMPRESS_BR_LEVEL": 5,
    "COMPRESS_REGISTER": False,
}

#: Endpoints whose files are sent as streams but are small enough to read whole and compress.
WHOLE_FILES = {"static", "admin_counter.service_worker", "admin_visits.service_worker"}


def register(app: Flask) -> None:
    """Compress the app's text answers for clients that accept it."""
    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    # One per app: Flask-Compress keeps the settings it was given, and tests build many apps.
    compress = Compress(app)

    @app.after_request
    def compressed(response: Response) -> Response:
        if response.is_streamed:
            if request.endpoint not in WHOLE_FILES or response.mimetype not in MIMETYPES:
                return response
            # send_file answers with a file wrapper: read it, so Content-Length and the ETag are kept.
            response.direct_passthrough = False
            response.make_sequence()
        return compress.after_request(response)
