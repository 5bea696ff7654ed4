from siyu.errors import SiyuError


class ImportError_(SiyuError):
    code = "imports.invalid"
    status = 400


class ImportNotFound(ImportError_):
    code = "imports.not_found"
    status = 404
