"""The distribution capability's error, with stable codes (``distribution.*``)."""

from __future__ import annotations

from siyu.errors import SiyuError


class DistributionError(SiyuError):
    code = "distribution.invalid"
    status = 422


class PromoterNotFound(DistributionError):
    code = "distribution.not_found"
    status = 404


# China's Regulations on Prohibiting Pyramid Selling (《禁止传销条例》, State Council Decree No. 444,
# 2005), Art. 7 (3): building upline-downline relations and paying the upline by the downline's sales
# is pyramid selling. WeChat's external-link content rules (《微信外部链接内容管理规范》) forbid
# multi-level distribution, and the line the industry holds on WeChat is two levels; so does siyu.
TOO_MANY_LEVELS_ZH = ("分销最多两级：三级及以上的佣金构成上下线多层级计酬，即《禁止传销条例》第七条所列"
                      "“以下线的销售业绩等为依据计算和给付上线报酬”的传销行为，微信平台规则也禁止多级分销。")
TOO_MANY_LEVELS_EN = ("Distribution is limited to two levels: commissions over three or more levels pay uplines "
                      "by their downlines' sales, which China's Regulations on Prohibiting Pyramid Selling "
                      "(《禁止传销条例》, Art. 7) define as pyramid selling, and WeChat's rules forbid "
                      "multi-level distribution.")


class TooManyLevels(DistributionError):
    code = "distribution.too_many_levels"
    status = 422

    def __init__(self, what: str, **details: object) -> None:
        super().__init__(f"{what} {TOO_MANY_LEVELS_EN} / {TOO_MANY_LEVELS_ZH}",
                         details={"max_levels": 2, "reason_zh": TOO_MANY_LEVELS_ZH, "reason_en": TOO_MANY_LEVELS_EN,
                                  **details})
