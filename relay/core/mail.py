"""Outgoing mail over SMTP (STARTTLS, implicit TLS or plain), configured in relay.toml or the env.

A failed send never fails the caller's request: it returns False and logs an error line (shown
in GET /api/v1/logs), so the Admin can share the link by hand instead. TLS certificates are
verified against the system trust store (or the CA bundle named by SSL_CERT_FILE); with
STARTTLS a server that does not offer it is refused, never silently downgraded to plain text.
"""
import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from relay.config import Config

log = logging.getLogger("relay.mail")
TIMEOUT = 15
_LINE_BREAKS = re.compile(r"[\r\n]+")


def _one_line(text: str) -> str:
    """Header values must not carry line breaks (they would inject headers)."""
    return _LINE_BREAKS.sub(" ", text).strip()


class Mailer:
    def __init__(self, config: Config):
        self.config = config

    @property
    def configured(self) -> bool:
        return self.config.smtp_configured

    def sender(self) -> str:
        c = self.config
        return c.smtp_from or (c.smtp_user if "@" in c.smtp_user else "relay@localhost")

    def send(self, to: str, subject: str, body: str) -> bool:
        """Send one message; False (and a log line) when SMTP is not set up or the send failed."""
        if not self.configured:
            return False
        c = self.config
        try:
            if parseaddr(to)[1] != to:  # would be split or truncated on the way out
                raise ValueError(f"{to!r} is not a single deliverable address")
            msg = EmailMessage()
            msg["From"] = _one_line(self.sender())
            msg["To"] = _one_line(to)
            msg["Subject"] = _one_line(subject)
            # RFC 5322 requires Date; many providers score mail without a Message-ID as spam.
            msg["Date"] = formatdate(usegmt=True)
            domain = parseaddr(msg["From"])[1].rpartition("@")[2] or "localhost"
            msg["Message-ID"] = make_msgid(domain=domain)
            msg.set_content(body)
            with self._connect() as smtp:
                if c.smtp_user:
                    smtp.login(c.smtp_user, c.smtp_password)
                # The envelope names exactly this recipient, whatever the To header parses to.
                smtp.send_message(msg, to_addrs=[to])
        except Exception as exc:  # noqa: BLE001 - mail must never break the request
            log.error("mail to %s via %s:%s (%s) failed: %s", to, c.smtp_host, c.smtp_port,
                      c.smtp_security, f"{type(exc).__name__}: {exc}")
            return False
        log.info("mail sent to %s: %s", to, subject)
        return True

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.smtp_security == "tls":
            return smtplib.SMTP_SSL(c.smtp_host, c.smtp_port, timeout=TIMEOUT,
                                    context=ssl.create_default_context())
        smtp = smtplib.SMTP(c.smtp_host, c.smtp_port, timeout=TIMEOUT)
        if c.smtp_security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp
