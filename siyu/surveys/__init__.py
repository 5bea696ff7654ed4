"""Surveys and NPS (issue 7, part 6): an NPS question (0–10) with an optional comment, answered on a
public mobile page reached by a signed per-person link."""
