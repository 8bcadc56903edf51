"""Exception classes. Each message names what is wrong and where (file:line, key, trial, parameter)."""


class AsyncNNIError(Exception):
    """Base of every error asyncnni raises on purpose."""


class ConfigError(AsyncNNIError):
    """An experiment YAML (or a config built in Python) is invalid."""


class SearchSpaceError(AsyncNNIError):
    """A search space is malformed, or a tuner cannot handle one of its types."""


class PluginError(AsyncNNIError):
    """A tuner or assessor could not be found, imported or constructed."""


class ProtocolError(AsyncNNIError, ValueError):
    """A wire message does not decode or does not follow the wire protocol (also: a metric
    that is not a finite number or a map with one under ``"default"``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class UnknownParameterError(AsyncNNIError, KeyError):
    """A parameter id that the dispatcher never handed out."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class NoMoreTrials(Exception):  # noqa: N818 - NNI's name, kept for familiarity
    """Raised by a tuner's generate_parameters: there is nothing more to try."""
