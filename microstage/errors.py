"""User-facing errors raised by services; the API and pages turn them into messages."""


class ServiceError(Exception):
    """A rule was broken. `code` is machine readable, `detail` is for a human."""

    code = "error"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None, **extra):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra


class Invalid(ServiceError):
    code = "invalid"
    status = 400

    def __init__(self, detail: str, *, fields: dict[str, list[str]] | None = None, **kw):
        super().__init__(detail, **kw)
        self.fields = fields or {}


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403


class Conflict(ServiceError):
    code = "conflict"
    status = 409
