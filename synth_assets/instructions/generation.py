"""Prompts for the three generation techniques and for answers, and cleaning of their output.

``self_instruct`` -- few-shot prompt from the seed pool and already kept instructions
(Wang et al. 2023). ``topic_prompt`` -- ask for one question about a topic; the answer is a
second call (two-call pattern). ``magpie`` -- send only the chat template's pre-query prefix and
let an aligned model write the user turn itself (Xu et al. 2024); needs raw completion.

Topic, persona and example texts are inserted as values, never parsed as templates, so braces,
quotes or "ignore previous instructions" in them cannot break a prompt.
"""

from __future__ import annotations

import re

import jinja2

GENERATION_TEMPLATE_VERSION = "gen-v1"
TECHNIQUES = ("self_instruct", "magpie", "topic_prompt")
ANSWER_SYSTEM = "You are a helpful, accurate assistant. Answer the user's request directly."
_SENTINEL = "\x00USER_TURN\x00"
_LABEL = re.compile(
    r"^\s*(?:\d+\s*[.):]|[-*]|(?:new\s+)?(?:task|instruction|question|prompt)\s*\d*\s*[:.-])\s*",
    re.IGNORECASE,
)


def _persona_line(persona: str | None) -> str:
    return f"Write it as this person would ask it: {persona}.\n" if persona else ""


def self_instruct_messages(
    topic: str, examples: list[str], persona: str | None = None
) -> list[dict[str, str]]:
    shown = "\n".join(f"{i}. {example}" for i, example in enumerate(examples, 1))
    user = (
        "Here are examples of tasks a user gives to an AI assistant:\n"
        f"{shown}\n\n"
        f"Write one new task, different from the examples, about this topic: {topic}\n"
        f"{_persona_line(persona)}"
        "Reply with the task only, on one line."
    )
    return [{"role": "user", "content": user}]


def topic_prompt_messages(topic: str, persona: str | None = None) -> list[dict[str, str]]:
    user = (
        f"Write one question a user might ask an AI assistant about this topic: {topic}\n"
        f"{_persona_line(persona)}"
        "Reply with the question only."
    )
    return [{"role": "user", "content": user}]


def magpie_system_prompt(topic: str) -> str:
    return f"You are an AI assistant. Users ask you about {topic}."


def pre_query_prefix(chat_template: str, system: str, bos_token: str = "", eos_token: str = "") -> str:
    """The chat template rendered up to where the user's words would start (Magpie)."""
    rendered = (
        jinja2.Environment()
        .from_string(chat_template)
        .render(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": _SENTINEL}],
            add_generation_prompt=False,
            bos_token=bos_token,
            eos_token=eos_token,
        )
    )
    if _SENTINEL not in rendered:
        raise ValueError("chat template does not render the user message; cannot build a Magpie prefix")
    return rendered.split(_SENTINEL)[0]


def render_chat(chat_template: str, messages: list[dict[str, str]]) -> str:
    """``messages`` rendered with ``chat_template``, ending where the assistant's reply starts."""
    return (
        jinja2.Environment()
        .from_string(chat_template)
        .render(messages=messages, add_generation_prompt=True, bos_token="", eos_token="")
    )


def user_turn_end(chat_template: str) -> str | None:
    """The token that closes a user turn in ``chat_template`` (``<|im_end|>`` for ChatML): the
    stop string for Magpie's generated query."""
    rendered = (
        jinja2.Environment()
        .from_string(chat_template)
        .render(
            messages=[{"role": "user", "content": _SENTINEL}],
            add_generation_prompt=False,
            bos_token="",
            eos_token="",
        )
    )
    after = rendered.split(_SENTINEL, 1)[1].strip() if _SENTINEL in rendered else ""
    return after.split()[0] if after else None


def answer_messages(instruction: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": ANSWER_SYSTEM}, {"role": "user", "content": instruction}]


def clean_instruction(text: str) -> str:
    """First non-empty line of a generated task, without list numbering, labels or quotes."""
    for line in text.strip().splitlines():
        line = _LABEL.sub("", line).strip().strip('"').strip("'").strip()
        if line:
            return line
    return ""
