# CA certificates for MQTT over TLS. MicroPython's ssl takes a CA as DER,
# one certificate per load_verify_locations() call: the unix port's mbedtls
# cannot read PEM at all. So the CA file (PEM, one or more certificates, or
# DER) is turned into DER here, the same way on every platform.
from binascii import a2b_base64

_BEGIN = b"-----BEGIN CERTIFICATE-----"
_END = b"-----END CERTIFICATE-----"


class Tls:
    """Old umqtt.simple (PyPI 1.3.4) wraps with `ussl.wrap_socket(sock,
    **ssl_params)`, newer ones call `ssl.wrap_socket(sock, server_hostname=)`
    on what they are given: one object serves both, verifying with our CA."""

    def __init__(self, ctx, host):
        self.ctx = ctx
        self.host = host

    def wrap_socket(self, sock, **kw):
        return self.ctx.wrap_socket(sock, server_hostname=self.host)


def tls_context(ca_path):
    """An SSL context that accepts only a server whose certificate chains to
    a certificate of the CA file; the caller passes server_hostname to
    wrap_socket for the name check."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # MicroPython's ssl.SSLContext has verify_mode (a property over tls's);
    # micropython-stdlib-stubs' ssl.pyi leaves it out
    ctx.verify_mode = ssl.CERT_REQUIRED  # type: ignore[attr-defined]
    for der in certificates(ca_path):
        ctx.load_verify_locations(cadata=der)
    return ctx


def certificates(path):
    """The certificates in the CA file at path, each as DER bytes. Raises
    ValueError, in words, when there is no file or no certificate in it."""
    if not path:
        raise ValueError("mqtt.tls needs a CA certificate file (mqtt.ca)")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise ValueError("cannot read the CA file %s (mqtt.ca)" % path)
    if data[:1] == b"\x30":                # DER: one certificate
        return [data]
    out = []
    b64 = None
    for line in data.split(b"\n"):
        line = line.strip()
        if line == _BEGIN:
            b64 = []
        elif line == _END and b64 is not None:
            try:
                out.append(a2b_base64(b"".join(b64)))
            except ValueError:
                raise ValueError("broken certificate in the CA file %s" % path)
            b64 = None
        elif b64 is not None:
            b64.append(line)
    if not out:
        raise ValueError("no certificate in the CA file %s (PEM or DER expected)" % path)
    return out
