"""In-process fakes shared by tests. Servers that speak real protocols live in servers/."""

import functools
import hashlib
import json
import re
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


TASKS = [
    "Explain how to keep a sourdough starter alive while travelling for two weeks.",
    "List five habits that help people stick to a monthly grocery budget.",
    "Compare renting and buying a home for a young couple in a large city.",
    "Describe a weekly study plan for passing a beginner Spanish exam.",
    "Outline the steps to repot a root-bound tomato seedling safely.",
    "Suggest a polite reply to a colleague who keeps missing deadlines.",
    "Show how to compute a weighted average of exam scores with an example.",
    "Recommend ways to test a small Python function that parses dates.",
    "Plan a three-day rail itinerary through northern Italy on a tight budget.",
    "Summarise the pros and cons of index funds for a first-time investor.",
    "Give tips for writing an email that asks a landlord to fix the heating.",
    "Teach a child the difference between mean and median using sweets.",
]


@functools.cache
def _corrupted_calibration_pairs() -> frozenset[tuple[str, str]]:
    from synth_assets.instructions.calibration import calibration_set

    bad = calibration_set().query("label == 0")
    return frozenset(zip(bad["instruction"], bad["response"], strict=True))


def _judged_pair(text: str) -> tuple[str, str]:
    instruction = text.split("<<<INSTRUCTION\n", 1)[1].split("\nINSTRUCTION>>>", 1)[0]
    response = text.split("<<<RESPONSE\n", 1)[1].split("\nRESPONSE>>>", 1)[0]
    return instruction, response


def instruction_responder(body: dict) -> str:
    """Answers for the fake Messages API, deterministic per prompt: plausible tasks,
    back-translated instructions, evolutions and responses; verdicts of a capable judge (the
    calibration set's corrupted pairs score 1, 3 in 4 other pairs score 5, the rest 2)."""
    text = body["messages"][-1]["content"]
    digest = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    if "Rate the RESPONSE" in text:
        if _judged_pair(text) in _corrupted_calibration_pairs():
            return '{"score": 1, "reason": "does not answer the instruction"}'
        score = 5 if digest % 4 else 2
        return f'{{"score": {score}, "reason": "checked"}}'
    if "Write the request this answers." in text:
        answer = re.split(r"Answer[^\n]*:\n", text, maxsplit=1)[1].rsplit("\n\nWrite the request", 1)[0]
        words = [w.strip(".,:;()`'\"") for w in answer.split()]
        topic = " ".join(w for w in words[:12] if w)
        return json.dumps({"instruction": f"Explain in plain words what this means: {topic}."})
    if "Prompt#:" in text:
        parent = text.split("Prompt#:\n", 1)[1].split("\n\n", 1)[0]
        return (
            "For a family of four on a fixed income: "
            + parent[0].lower()
            + parent[1:].rstrip(".")
            + ", then add one worked example with realistic numbers and a short summary table."
        )
    if "Write one new task" in text or "Write one question" in text:
        return TASKS[digest % len(TASKS)]
    return (
        "Start with the basics, then go step by step: gather what you need, check each step "
        "against the goal, and review the result carefully before you finish. " * 2
    )
