"""Which adapter sends a message: the workspace's channel settings (``settings.channels``).

::

    {"channels": {"email": {"host": "smtp.example.com", "port": 587, "sender": "hi@brand.cn",
                            "sender_name": "完美日记", "username": "…", "password": "…", "starttls": true},
                  "webhook": {"url": "https://brand.example/siyu", "secret": "…"}}}

A channel with no settings refuses its messages with ``channels.not_configured`` (a permanent
failure, recorded on the message) rather than dropping them silently.
"""

from __future__ import annotations

from typing import Any

from siyu.channels.base import Adapter, ChannelError
from siyu.channels.email import EmailChannel
from siyu.channels.webhook import WebhookChannel
from siyu.messaging.models import Channel, Message


def adapter_for(workspace: Any, message: Message) -> Adapter:
    config = ((workspace.settings or {}).get("channels") or {}).get(message.channel.value)
    if not config:
        raise ChannelError("channels.not_configured", f"The {message.channel.value} channel is not set up in this "
                           "workspace (settings.channels).", retryable=False)
    try:
        if message.channel is Channel.EMAIL:
            return EmailChannel(host=str(config["host"]), port=int(config.get("port", 25)),
                                sender=str(config["sender"]), sender_name=config.get("sender_name"),
                                username=config.get("username"), password=config.get("password"),
                                starttls=bool(config.get("starttls", False)))
        if message.channel is Channel.WEBHOOK:
            return WebhookChannel(url=str(config["url"]), secret=str(config["secret"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ChannelError("channels.bad_settings", f"settings.channels.{message.channel.value}: {error}",
                           retryable=False) from None
    raise ChannelError("channels.not_available", f"Sending by {message.channel.value} is not available yet.",
                       retryable=False)
