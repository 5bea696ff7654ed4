from siyu.errors import SiyuError


class IngestError(SiyuError):
    code = "ingest.invalid"
    status = 400


class MessageTooLarge(IngestError):
    code = "ingest.message_too_large"
    status = 400


class BatchTooLarge(IngestError):
    code = "ingest.batch_too_large"
    status = 400


class IngestUnavailable(IngestError):
    """The database could not take the batch (down, locked, failing over): retry later."""

    code = "ingest.unavailable"
    status = 503
