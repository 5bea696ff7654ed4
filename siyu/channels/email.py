"""E-mail over SMTP, with a one-click unsubscribe (RFC 8058) on every marketing message.

``List-Unsubscribe`` carries the HTTPS link and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
lets mail clients unsubscribe with one POST (required by Gmail and Yahoo for bulk senders since
February 2024). The ``Message-ID`` is derived from the message's stable key. SMTP cannot dedupe a
resend, so this adapter is not idempotent: a message whose worker died mid-send is marked
uncertain rather than sent twice.
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
            raise ChannelError("email.recipient_refused", str(error.recipients), retryable=False) from None
        except smtplib.SMTPResponseException as error:
            retry = 400 <= error.smtp_code < 500
            raise ChannelError("email.temporary" if retry else "email.refused",
                               f"{error.smtp_code} {error.smtp_error!r}", retryable=retry) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            raise ChannelError("email.unreachable", f"{type(error).__name__}: {error}", retryable=True) from None
        if refused:
            raise ChannelError("email.recipient_refused", str(refused), retryable=False)
        return mail["Message-ID"]
