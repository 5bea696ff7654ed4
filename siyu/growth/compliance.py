"""Compliance: the red lines a campaign's rules must not cross, flagged in the editor with the reason.
Pure: ``check_rules(kind, rules) -> [Finding]`` over the rules as JSON (before or after validation).

Sources (re-check them before quoting in user docs; platforms change their rules):

- 《微信外部链接内容管理规范》, upgraded version in force from 2019-10-28, §1.2 诱导分享: "通过利益诱惑,
  诱导用户分享以及传播外链内容的,包括但不限于:以金钱奖励、实物奖品、虚拟奖品(包括但不限于红包、
  优惠券、代金券、积分、话费、流量、信息);声称分享可增加抽奖机会、中奖概率、成功可能;通过签到打卡、
  邀请好友协助(包括但不限于助力、砍价、加速)、设置收集任务(包括但不限于集赞、集卡、集福、集碎片)等
  形式利诱、诱导用户分享以及传播外链内容的" (quoted by 北京日报 2019-10-30 and
  51haodu.com/t/aGQ2akFvYTY4Zg==). The same upgrade bars "虚假、欺诈、抽奖性质、规则不清晰的拼团活动".
- 《微信小程序平台运营规范》 行为规范, 诱导分享: (1) 强制用户分享或关注 — "分享或关注后才能继续下一步
  操作 … 分享或关注后方可解锁功能或能力"; (2) 利诱用户分享或关注 — "分享或关注后对用户有奖励";
  (3) 胁迫、煽动用户分享或关注 — "用夸张言语来胁迫、引诱用户分享或关注" (as summarised in
  gxmctm.cn/show-1354.html, 2020-05-13).
- Distribution depth: prosecution for pyramid selling (组织、领导传销活动罪, 刑法 Art. 224-1, and the
  2013 SPC/SPP/MPS opinion) starts at ≥ 30 people in ≥ 3 levels, so siyu stops at 2 levels
  (REFERENCE.md, "WeChat and WeCom rules").

What is *not* flagged: counting scans, follows and adds. The JS-SDK cannot tell whether a share
happened, so siyu's fission counts what friends do, never the share itself — that is the compliant
shape, and the campaign kinds are built on it. Assist and bargain are flagged as warnings because
the 2019 rules name 助力 / 砍价 in external links; run them inside the official account or a mini
program, reward the friend's own action, and avoid share wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

MAX_DISTRIBUTION_LEVELS = 2


class Severity(StrEnum):
    ERROR = "error"  # the campaign must not go live like this
    WARNING = "warning"  # allowed, with a risk the operator should understand
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message_zh: str
    message_en: str
    field: str  # where in the rules (dotted path), "" for the campaign as a whole

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Wording that rewards, forces or goads sharing (zh and en), checked in every text of the rules.
INDUCING_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("moments", re.compile(r"(分享|转发|发)(到|至|去)?朋友圈")),
    ("group", re.compile(r"(分享|转发)(到|至|去|给|进)?.{0,4}群")),  # not a lone 发: 发红包群 is no share
    ("collect_likes", re.compile(r"集(赞|卡|福|碎片)")),
    ("share_to_unlock", re.compile(r"(分享|转发)(后|即可|才能|才可|方可).{0,6}(领|得|获|解锁|查看|抽|参与|下载)")),
    ("goading", re.compile(r"不(转|分享)不是|必须(转发|分享)|转疯了")),
    ("moments", re.compile(r"\bshare\b.{0,20}\b(moments|timeline)\b", re.IGNORECASE)),
    ("group", re.compile(r"\bshare\b.{0,20}\bgroups?\b", re.IGNORECASE)),
    ("share_to_unlock", re.compile(r"\bshare\b.{0,20}\b(to|and)\b.{0,10}\b(unlock|get|win|claim|receive)\b",
                                   re.IGNORECASE)),
)

_SHARE_TARGET_ZH = {"moments": "朋友圈", "group": "群聊", "friend": "好友"}


def check_rules(kind: str, rules: dict[str, Any]) -> list[Finding]:
    """Every finding for a campaign (or distribution plan) of ``kind`` with these rules, errors first."""
    findings = [*_share_rewards(rules), *_texts(rules), *_kind_findings(kind, rules)]
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(findings, key=lambda f: (order[f.severity], f.field, f.code))


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def _share_rewards(rules: dict[str, Any]) -> Iterator[Finding]:
    targets = rules.get("share_reward_targets") or []
    for index, target in enumerate(targets if isinstance(targets, list) else []):
        where = f"share_reward_targets.{index}"
        if target in ("moments", "group"):
            yield Finding(
                f"compliance.share_reward_{target}", Severity.ERROR,
                f"分享到{_SHARE_TARGET_ZH[target]}即有奖励属于诱导分享(《微信外部链接内容管理规范》1.2;小程序运营规范"
                "“利诱用户分享”),链接和账号可能被封禁。请改为奖励好友的扫码、关注或添加。",
                f"Rewarding a share to {'Moments' if target == 'moments' else 'groups'} is inducing shares, banned by "
                "WeChat's external link content rules §1.2 and the mini program rules; links and accounts get blocked. "
                "Reward the friend's scan, follow or add instead.", where)
        elif target == "friend":
            yield Finding(
                "compliance.share_reward_friend", Severity.WARNING,
                "分享给好友即有奖励同样属于“利诱用户分享”。siyu 只计好友的扫码、关注和添加;请勿在文案中承诺分享奖励。",
                "A reward for sharing to a friend is also 'luring users to share'. siyu counts only the friend's "
                "scan, follow or add; don't promise a reward for the share itself.", where)


def _texts(rules: dict[str, Any]) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for where, text in _strings(rules, ""):
        for name, pattern in INDUCING_PATTERNS:
            if (where, name) in seen or not pattern.search(text):
                continue
            seen.add((where, name))
            excerpt = pattern.search(text).group(0)  # type: ignore[union-attr]
            yield Finding(
                f"compliance.inducing_text_{name}", Severity.ERROR,
                f"文案“{excerpt}”诱导、强制或煽动分享(《微信外部链接内容管理规范》1.2,小程序运营规范诱导分享第1–3条)。"
                "请删去分享要求,只描述好友要做的事(扫码、关注、下单)。",
                f"The wording '{excerpt}' induces, forces or goads sharing (WeChat external link rules §1.2; mini "
                "program rules on inducing shares, items 1–3). Remove the share request; describe what the friend "
                "does (scan, follow, order).", where)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in the rules with its dotted path (keys such as ``share_reward_targets`` hold
    machine values, not wording, and are skipped)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in ("share_reward_targets", "qualifying", "helper_eligibility"):
                continue
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}" if path else str(index))


def _kind_findings(kind: str, rules: dict[str, Any]) -> Iterator[Finding]:
    """Red lines and risks that belong to one kind (unknown kinds have none of their own)."""
    if kind in ("assist", "bargain"):
        yield Finding(
            f"compliance.{kind}_external_link", Severity.WARNING,
            "2019 年升级的《微信外部链接内容管理规范》点名禁止外链中的好友助力、砍价、加速。请在公众号或小程序内运行,"
            "奖励好友自己的行为(关注、扫码),文案中不要求分享。",
            "WeChat's external link rules (upgraded 2019) name friend assists, bargains and speed-ups in external "
            "links. Run it inside the official account or a mini program, reward the friend's own action (follow, "
            "scan), and don't ask for shares in the wording.", "")
    if kind != "distribution" and not _has_description(rules):
        yield _unclear_rules("description")
    if kind == "group_buy" and rules.get("auto_fill"):
        yield Finding(
            "compliance.group_buy_auto_fill", Severity.WARNING,
            "自动成团(模拟成团)必须在活动规则中写明;微信禁止虚假、规则不清晰的拼团活动。",
            "Auto-fill (simulated members) must be stated in the public rules; WeChat bans fake group buys and "
            "group buys with unclear rules.", "auto_fill")
    if kind == "referral" and rules.get("qualifying") == "follow_stay":
        yield Finding(
            "compliance.follow_reward", Severity.INFO,
            "以关注为条件的奖励接近“诱导关注”(外链规范将诱导关注列为违规内容;小程序运营规范“利诱用户分享或关注”)。"
            "文案中请勿写“关注即送”,奖励说明写给邀请人,并保留关注满 N 天的条件。",
            "A reward conditioned on a follow is close to 'inducing follows' (listed as violating content by WeChat's "
            "external link rules; the mini program rules on luring users to share or follow). Don't write 'follow "
            "to get' in the wording; describe the reward as the inviter's and keep the stay-N-days condition.",
            "qualifying")
    if kind == "distribution":
        yield from _distribution(rules)


def _distribution(rules: dict[str, Any]) -> Iterator[Finding]:
    levels = rules.get("levels")
    depth = len(levels) if isinstance(levels, list) else levels if isinstance(levels, int) else 0
    if depth > MAX_DISTRIBUTION_LEVELS:
        yield Finding(
            "compliance.distribution_levels", Severity.ERROR,
            f"佣金设置了 {depth} 级。组织、领导传销活动罪(刑法第224条之一)以三级以上、30人以上立案追诉,"
            "分销最多两级。",
            f"This plan pays commission over {depth} levels. Pyramid-selling prosecution in China starts at 3 or "
            "more levels and 30 or more people (Criminal Law Art. 224-1), so distribution stops at 2 levels.",
            "levels")


def _has_description(rules: dict[str, Any]) -> bool:
    description = rules.get("description")
    if isinstance(description, dict):
        return any(isinstance(v, str) and v.strip() for v in description.values())
    return isinstance(description, str) and bool(description.strip())


def _unclear_rules(where: str) -> Finding:
    return Finding(
        "compliance.rules_missing", Severity.ERROR,
        "活动页面必须展示活动规则;规则不清晰的活动违反微信外链规范。",
        "Every campaign page shows its rules; campaigns with unclear rules break WeChat's external link rules.",
        where)
