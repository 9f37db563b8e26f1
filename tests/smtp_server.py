"""A real SMTP server on 127.0.0.1 (aiosmtpd) for end-to-end mail tests.

`smtp(...)` starts one on a free port: plain, STARTTLS or implicit TLS (certificate from a
throw-away CA made here with `cryptography`), optionally requiring AUTH or refusing recipients.
Every message that arrives is kept with what the server saw: envelope, TLS, authenticated login.
"""
import datetime
import email
import email.policy
import ipaddress
import re
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import free_port

LINK_RE = re.compile(r"https?://\S+")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage
    tls: bool
    login: str | None

    @property
    def body(self) -> str:
        return self.message.get_content()

    def links(self) -> list[str]:
        return LINK_RE.findall(self.body)


class _Handler:
    def __init__(self, refuse_rcpt: bool):
        self.refuse_rcpt = refuse_rcpt
        self.received: list[Received] = []
        self.cond = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        tls = server.transport.get_extra_info("ssl_object") is not None
        with self.cond:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg,
                                          tls, login))
            self.cond.notify_all()
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, controller: Controller, handler: _Handler, port: int):
        self.controller = controller
        self.handler = handler
        self.host = "127.0.0.1"
        self.port = port

    @property
    def received(self) -> list[Received]:
        with self.handler.cond:
            return list(self.handler.received)

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[Received]:
        """The first `count` messages, waiting for them to arrive (the relay sends before it
        answers, so in practice they are already here)."""
        with self.handler.cond:
            self.handler.cond.wait_for(lambda: len(self.handler.received) >= count, timeout)
            got = list(self.handler.received)
        assert len(got) >= count, f"expected {count} message(s), got {len(got)}"
        return got

    def env(self, security: str = "none", **extra) -> dict:
        """Relay settings (environment style) pointing at this server."""
        return {"RELAY_SMTP_HOST": self.host, "RELAY_SMTP_PORT": str(self.port),
                "RELAY_SMTP_SECURITY": security, "RELAY_SMTP_FROM": "relay@example.test",
                "RELAY_PUBLIC_URL": "https://relay.example.test", **extra}

    def stop(self):
        self.controller.stop()


@dataclass
class Pki:
    ca_file: Path
    server_context: ssl.SSLContext


def make_pki(directory: Path, hostname_ip: str = "127.0.0.1") -> Pki:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost signed by it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Relay test CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                            crl_sign=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(hostname_ip))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file = directory / "server.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "server.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return Pki(ca_file=ca_file, server_context=ctx)


@pytest.fixture
def pki(tmp_path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def smtp(tmp_path):
    """smtp(tls=None|"starttls"|"tls", context=ssl ctx, auth=(user, password),
    auth_require_tls=bool, refuse_rcpt=bool) → a running SmtpServer on 127.0.0.1."""
    started = []

    def start(tls: str | None = None, context: ssl.SSLContext | None = None,
              auth: tuple[str, str] | None = None, auth_require_tls: bool = True,
              refuse_rcpt: bool = False) -> SmtpServer:
        handler = _Handler(refuse_rcpt)
        kwargs = {}
        if auth is not None:
            def authenticator(server, session, envelope, mechanism, auth_data):
                good = (isinstance(auth_data, LoginPassword)
                        and auth_data.login.decode() == auth[0]
                        and auth_data.password.decode() == auth[1])
                return AuthResult(success=good, handled=False,
                                  auth_data=auth_data if good else None)
            kwargs.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=auth_require_tls)
        else:
            kwargs.update(auth_require_tls=auth_require_tls)
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        elif tls == "tls":
            kwargs.update(ssl_context=context)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10,
                                **kwargs)
        controller.start()
        server = SmtpServer(controller, handler, port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
