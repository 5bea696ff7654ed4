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
