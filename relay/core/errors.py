"""Errors the domain raises; the HTTP layer turns each into `{"error": message}` with its status."""

# What `{"error": …}` says for errors found before any domain code runs.
HTTP_MESSAGES = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
}


class RelayError(Exception):
    status = 400

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra  # more fields for the JSON body


class Invalid(RelayError):
    status = 400


class Unauthorized(RelayError):
    status = 401


class Forbidden(RelayError):
    status = 403


class NotFound(RelayError):
    status = 404


class Conflict(RelayError):
    status = 409


class Gone(RelayError):
    status = 410


class TooLarge(RelayError):
    status = 413


class TooManyRequests(RelayError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
