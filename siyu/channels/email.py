"""E-mail over SMTP, with a one-click unsubscribe (RFC 8058) on every marketing message.

``List-Unsubscribe`` carries the HTTPS link and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
lets mail clients unsubscribe with one POST (required by Gmail and Yahoo for bulk senders since
February 2024). The ``Message-ID`` is derived from the message's stable key. SMTP cannot dedupe a
resend, so this adapter is not idempotent: a message whose worker died mid-send is marked
uncertain rather than sent twice.

What the server answered decides the message's fate (RFC 5321 §4.2.1): a 2xx reply is a send; a 4xx
("transient negative") is retried; a 5xx ("permanent negative" — unknown mailbox, policy refusal)
fails it for good. The detail starts with the server's reply code and text (``550 5.1.1 …``), which
the ``Message Failed`` event carries.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr

from siyu.channels.base import ChannelError, Delivery


@dataclass
class EmailChannel:
    host: str
    port: int
    sender: str
    sender_name: str | None = None
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 20.0
    idempotent: bool = False

    def compose(self, delivery: Delivery) -> EmailMessage:
        payload = delivery.payload
        mail = EmailMessage()
        mail["From"] = formataddr((self.sender_name, self.sender)) if self.sender_name else self.sender
        mail["To"] = delivery.recipient
        mail["Subject"] = str(payload.get("subject") or "")
        mail["Message-ID"] = f"<{delivery.key.replace(':', '.')}@siyu>"
        if delivery.unsubscribe_url:
            mail["List-Unsubscribe"] = f"<{delivery.unsubscribe_url}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(str(payload.get("text") or ""))
        if payload.get("html"):
            mail.add_alternative(str(payload["html"]), subtype="html")
        return mail

    def send(self, delivery: Delivery) -> str | None:
        mail = self.compose(delivery)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            raise refusal("email.recipient_refused", *next(iter(error.recipients.values()))) from None
        except smtplib.SMTPResponseException as error:
            raise refusal("email.refused", error.smtp_code, error.smtp_error) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            raise ChannelError("email.unreachable", f"{type(error).__name__}: {error}", retryable=True) from None
        if refused:  # one recipient per message: a partial refusal is a refusal
            raise refusal("email.recipient_refused", *next(iter(refused.values())))
        return mail["Message-ID"]


def refusal(code: str, smtp_code: int, text: bytes | str) -> ChannelError:
    """An SMTP reply other than 2xx: 4xx retried (as ``email.temporary``), 5xx final under ``code``."""
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    detail = f"{smtp_code} {' '.join(reply.split())}"[:500]
    if 400 <= smtp_code < 500:
        return ChannelError("email.temporary", detail, retryable=True)
    return ChannelError(code, detail, retryable=False)
