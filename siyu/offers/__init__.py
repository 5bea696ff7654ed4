"""Offers: coupons and rewards shared by growth and loyalty — stock, limits, atomic claim and redeem."""

from siyu.offers import journey_rewards as _journey_rewards  # noqa: F401 - registers the journeys' coupon step
