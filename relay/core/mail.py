"""Outgoing mail over SMTP (STARTTLS, implicit TLS or plain), configured in relay.toml or the env."""
import logging
import smtplib
import ssl
from email.message import EmailMessage

from relay.config import Config

log = logging.getLogger("relay.mail")
TIMEOUT = 15


class Mailer:
    def __init__(self, config: Config):
        self.config = config

    @property
    def configured(self) -> bool:
        return self.config.smtp_configured

    def send(self, to: str, subject: str, body: str) -> bool:
        """Send one message; False (and a log line) when SMTP is not set up or the send failed."""
        if not self.configured:
            return False
        c = self.config
        msg = EmailMessage()
        msg["From"] = c.smtp_from or (c.smtp_user if "@" in c.smtp_user else "relay@localhost")
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        try:
            with self._connect() as smtp:
                if c.smtp_user:
                    smtp.login(c.smtp_user, c.smtp_password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            log.error("mail to %s failed: %s", to, exc)
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
            smtp.starttls(context=ssl.create_default_context())
        return smtp
