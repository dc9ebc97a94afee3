"""Errors that services raise and the web layer renders as responses with their status."""


class ServiceError(Exception):
    """A request that cannot be carried out, with the reason shown on the page."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """Unknown, or not visible to this person (404)."""

    status = 404


class Forbidden(ServiceError):
    """A participant in the wrong role, or a policy that forbids the action (403)."""

    status = 403


class Invalid(ServiceError):
    """Bad input that a form cannot catch by itself (422)."""

    status = 422


class Conflict(ServiceError):
    """Not possible in the current state, or too little credit (409)."""

    status = 409


class TooMany(ServiceError):
    """Too often, such as a second nudge within its interval (429)."""

    status = 429


class AlreadyDone(ServiceError):
    """The action is already in effect (a double click): nothing changes, status 200 or 303."""

    status = 200
