"""Acquisition: bringing people in and greeting them — welcome messages and keyword / menu replies
(``welcome.py``, ``replies.py``), and the channel codes, group live codes and posters built beside them."""
