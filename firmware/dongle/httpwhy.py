# What http.py tells a bad request (the "error" of its 4xx, 408 or 500
# answer), by index (http.py's _ENDED..., web.py's _ELSEWHERE and
# _CROSS_SITE), the status lines other than 200 and 503, and http.py's
# static 503 answers: loaded to make one and let go after, so that while
# requests are good these texts take no RAM.

def status(code):
    """The status line of code: "404 Not Found"."""
    # (one text: a dict of them would be 16 objects in RAM)
    lines = ("400 Bad Request\n401 Unauthorized\n403 Forbidden\n404 Not Found\n405 Method Not Allowed\n"
             "408 Request Timeout\n409 Conflict\n411 Length Required\n413 Payload Too Large\n414 URI Too Long\n"
             "421 Misdirected Request\n429 Too Many Requests\n431 Request Header Fields Too Large\n"
             "500 Internal Server Error\n507 Insufficient Storage\n")
    i = lines.find("%d " % code)
    return lines[i:lines.find("\n", i)] if i >= 0 else "%d Unknown" % code


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
        "this dongle answers to its IP address, %s, %s.<your domain>%s%s",
        "changes are taken only from the dongle's own pages",
    )[why]
    return t if value is None else t % value


def busy(n):
    """http.py's static 503 answers, made once when it loads (saying that
    the heap is short must take no heap): the body of "busy: low on
    memory", the whole response with it, and the whole response "busy: n
    connections from this address already"."""
    head = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\nCache-Control: no-store\r\nRetry-After: 2\r\n\r\n%s")
    low = b'{"error": "busy: low on memory, try again", "status": 503}'
    many = b'{"error": "busy: %d connections from this address already, try again", "status": 503}' % n
    return low, head % (len(low), low), head % (len(many), many)
