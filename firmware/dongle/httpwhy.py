# What http.py tells a bad request (the "error" of its 4xx, 408 or 500
# answer), by index (http.py's _ENDED...): loaded to answer one and let
# go after, so that while requests are good these texts take no RAM.


def text(why, value=None):
    """The text of index why, with value put in where it takes one."""
    t = (
        "request ended before its headers",
        "request line longer than %d bytes",
        "request headers longer than %d bytes",
        "malformed request line",
        "malformed header line",
        "header is not text",
        "%s given twice",
        "request bodies in Transfer-Encoding are not taken: send Content-Length",
        "bad Content-Length",
        "request body longer than %d bytes",
        "request body shorter than Content-Length",
        "request not complete within %d s",
        "internal error",
    )[why]
    return t if value is None else t % value
