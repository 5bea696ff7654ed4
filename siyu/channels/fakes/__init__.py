"""Local fake providers that speak each real protocol, for tests and ``siyu sandbox``: siyu's own
channel adapters talk to them exactly as they would to Aliyun, WeChat or WeCom, only the base URL differs."""

from siyu.channels.fakes.aliyun_sms import FakeAliyunSms, ReceivedSms
from siyu.channels.fakes.wechat import FakeWeChat, ReceivedWeChat
from siyu.channels.fakes.wecom import FakeWeCom, ReceivedWeCom

__all__ = ["FakeAliyunSms", "FakeWeChat", "FakeWeCom", "ReceivedSms", "ReceivedWeChat", "ReceivedWeCom"]
