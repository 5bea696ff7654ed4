from siyu.errors import SiyuError


class SegmentError(SiyuError):
    code = "segments.invalid"


class InvalidDefinition(SegmentError):
    """The definition does not parse; ``details.path`` names the node, ``details.reason`` says why."""

    code = "segments.invalid_definition"
    status = 422


class SegmentNotFound(SegmentError):
    code = "segments.not_found"
    status = 404


class SegmentConflict(SegmentError):
    code = "segments.conflict"
    status = 409
