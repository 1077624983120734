"""How bad settings and bad input end a step."""

from contextlib import contextmanager

from dagster import Failure

from synth_assets.errors import InputDataError
from synth_assets.llm.types import LLMConfigError


@contextmanager
def settings_errors_are_final():
    """Bad settings or input fail the step for good: a retry would only fail the same way."""
    try:
        yield
    except (LLMConfigError, InputDataError, ValueError) as exc:
        raise Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc
