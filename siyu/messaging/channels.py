"""Which adapter sends a message: the workspace's channel settings (``settings.channels``).

::

    {"channels": {"email": {"host": "smtp.example.com", "port": 587, "sender": "hi@brand.cn",
                            "sender_name": "完美日记", "username": "…", "password": "…", "starttls": true},
                  "webhook": {"url": "https://brand.example/siyu", "secret": "…"},
                  "sms": {"provider": "aliyun", "access_key_id": "LTAI…", "access_key_secret": "…"},
                  "wechat": {"appid": "wx…", "secret": "…"},
                  "wecom": {"corpid": "ww…", "secret": "…", "sender": "zhangsan"}}}

One ``wechat`` section serves every ``wechat_*`` channel: they are APIs of one official account.
``wecom.sender`` is the member who sends to customers whose owner siyu doesn't know.

A channel with no settings refuses its messages with ``channels.not_configured`` (a permanent
failure, recorded on the message) rather than dropping them silently.
"""

from __future__ import annotations

from typing import Any

from siyu.channels.base import Adapter, ChannelError
from siyu.channels.email import EmailChannel
from siyu.channels.sms import sms_channel
from siyu.channels.webhook import WebhookChannel
from siyu.channels.wechat import CUSTOMER_SERVICE, SUBSCRIBE, TEMPLATE, WeChatChannel
from siyu.channels.wecom import WeComChannel
from siyu.channels.wecom_welcome import WeComWelcomeChannel, is_welcome
from siyu.messaging.models import Channel, Message

WECHAT_KINDS = {Channel.WECHAT_TEMPLATE: TEMPLATE, Channel.WECHAT_CS: CUSTOMER_SERVICE,
                Channel.WECHAT_SUBSCRIBE: SUBSCRIBE}


def adapter_for(workspace: Any, message: Message) -> Adapter:
    section = "wechat" if message.channel.value.startswith("wechat") else message.channel.value
    config = ((workspace.settings or {}).get("channels") or {}).get(section)
    if not config:
        raise ChannelError("channels.not_configured", f"The {message.channel.value} channel is not set up in this "
                           f"workspace (settings.channels.{section}).", retryable=False)
    try:
        if message.channel is Channel.EMAIL:
            return EmailChannel(host=str(config["host"]), port=int(config.get("port", 25)),
                                sender=str(config["sender"]), sender_name=config.get("sender_name"),
                                username=config.get("username"), password=config.get("password"),
                                starttls=bool(config.get("starttls", False)))
        if message.channel is Channel.WEBHOOK:
            return WebhookChannel(url=str(config["url"]), secret=str(config["secret"]))
        if message.channel is Channel.SMS:
            return sms_channel(config)
        if message.channel in WECHAT_KINDS:
            return WeChatChannel.from_settings(WECHAT_KINDS[message.channel], config)
        if message.channel is Channel.WECOM and is_welcome(message.payload):
            return WeComWelcomeChannel.from_settings(config)  # a welcome message (send_welcome_msg)
        if message.channel is Channel.WECOM:
            return WeComChannel.from_settings(config)
    except (KeyError, TypeError, ValueError) as error:
        raise ChannelError("channels.bad_settings", f"settings.channels.{section}: {error}",
                           retryable=False) from None
    raise ChannelError("channels.not_available", f"Sending by {message.channel.value} is not available yet.",
                       retryable=False)
