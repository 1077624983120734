"""In-process fakes shared by tests. Servers that speak real protocols live in servers/."""

from collections.abc import Callable

from synth_assets.llm.types import LLMRequest, LLMResponse


class ScriptedBackend:
    """A backend whose answers come from ``responder(request) -> str``; records every call."""

    name = "scripted"
    model = "scripted-1"
    supports_raw_completion = True
    supports_logprobs = False
    default_concurrency = 4
    price_multiplier = 1.0
    chat_template = None

    def __init__(self, responder: Callable[[LLMRequest], str]):
        self.responder = responder
        self.calls: list[LLMRequest] = []

    def generate_one(self, request: LLMRequest) -> LLMResponse:
        self.calls.append(request)
        text = self.responder(request)
        return LLMResponse(text=text, input_tokens=10, output_tokens=len(text.split()))


def last_user_text(request: LLMRequest) -> str:
    return [content for role, content in request.messages if role == "user"][-1]
