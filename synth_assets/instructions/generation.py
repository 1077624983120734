"""Prompts for the generation techniques and for answers, and reading of their output.

``backtranslation`` -- instruction back-translation (Li et al. 2023): the response is
human-written text from a corpus and the model writes only the instruction that text answers,
shown the human seed tasks as (answer -> instruction) examples first. This is the default: a
small model writes a usable question far more often than a usable answer.

``self_instruct`` -- few-shot prompt from the seed pool and already kept instructions
(Wang et al. 2023). ``topic_prompt`` -- ask for one question about a topic; the answer is a
second call (two-call pattern). ``magpie`` -- send only the chat template's pre-query prefix and
let an aligned model write the user turn itself (Xu et al. 2024); needs raw completion.

Topic, persona and example texts are inserted as values, never parsed as templates, so braces,
quotes or "ignore previous instructions" in them cannot break a prompt.
"""

from __future__ import annotations

import json
import re

import jinja2

from synth_assets.instructions.languages import clause, is_english, language_name, normalise

GENERATION_TEMPLATE_VERSION = "gen-v3"  # v3: a language clause for languages other than English
TECHNIQUES = ("backtranslation", "self_instruct", "magpie", "topic_prompt")
# A request opens as a question or an imperative task; small models otherwise often write a
# statement about the text ("The event is handled in a different way ..."), which no user asks.
INSTRUCTION_OPENERS = (
    "How", "What", "Why", "When", "Which", "Who", "Where", "Can", "Is", "Does",
    "Explain", "Describe", "Write", "Show", "Give", "List", "Summarize", "Compare",
)  # fmt: skip
# the rest: one line without quotes or backslashes (no JSON escapes for a small model to fumble)
INSTRUCTION_PATTERN = "^(" + "|".join(INSTRUCTION_OPENERS) + r') [^"\\\n]+$'
ANY_LANGUAGE_PATTERN = r'^[^"\\\n]+$'  # other languages: the English openers do not apply


def instruction_schema(language: str | None = None) -> str:
    """One instruction per call: llama.cpp turns this into a grammar, Anthropic into a tool
    input. No length bounds: in a llama.cpp grammar they unroll into hundreds of optional
    characters and double the sampling time; max_tokens and the validators bound length."""
    pattern = INSTRUCTION_PATTERN if language is None or is_english(language) else ANY_LANGUAGE_PATTERN
    return json.dumps(
        {
            "type": "object",
            "properties": {"instruction": {"type": "string", "pattern": pattern}},
            "required": ["instruction"],
        },
        sort_keys=True,
    )


INSTRUCTION_SCHEMA = instruction_schema()
BACKTRANSLATION_SYSTEM = (
    "You write the request a user sent to an AI assistant, given the assistant's answer. The "
    "request must be a clear task or question that the answer fully answers, in one sentence, "
    "without copying the answer. Reply with JSON only."
)
ANSWER_SYSTEM = "You are a helpful, accurate assistant. Answer the user's request directly."
_SENTINEL = "\x00USER_TURN\x00"
_LABEL = re.compile(
    r"^\s*(?:\d+\s*[.):]|[-*]|(?:new\s+)?(?:task|instruction|question|prompt)\s*\d*\s*[:.-])\s*",
    re.IGNORECASE,
)


def _persona_line(persona: str | None) -> str:
    return f"Write it as this person would ask it: {persona}.\n" if persona else ""


def _language_line(language: str | None, what: str) -> str:
    line = clause(language, what)
    return f"{line}\n" if line else ""


def self_instruct_messages(
    topic: str, examples: list[str], persona: str | None = None, language: str | None = None
) -> list[dict[str, str]]:
    shown = "\n".join(f"{i}. {example}" for i, example in enumerate(examples, 1))
    user = (
        "Here are examples of tasks a user gives to an AI assistant:\n"
        f"{shown}\n\n"
        f"Write one new task, different from the examples, about this topic: {topic}\n"
        f"{_persona_line(persona)}"
        f"{_language_line(language, 'the task')}"
        "Reply with the task only, on one line."
    )
    return [{"role": "user", "content": user}]


def topic_prompt_messages(
    topic: str, persona: str | None = None, language: str | None = None
) -> list[dict[str, str]]:
    user = (
        f"Write one question a user might ask an AI assistant about this topic: {topic}\n"
        f"{_persona_line(persona)}"
        f"{_language_line(language, 'the question')}"
        "Reply with the question only."
    )
    return [{"role": "user", "content": user}]


def magpie_system_prompt(topic: str, language: str | None = None) -> str:
    written = f" They write in {language_name(normalise(language))}." if clause(language) else ""
    return f"You are an AI assistant. Users ask you about {topic}.{written}"


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


def _with_clause(text: str, language: str | None, what: str) -> str:
    line = clause(language, what)
    return f"{text} {line}" if line else text


def answer_messages(instruction: str, language: str | None = None) -> list[dict[str, str]]:
    system = _with_clause(ANSWER_SYSTEM, language, "your answer")
    return [{"role": "system", "content": system}, {"role": "user", "content": instruction}]


# Few-shot examples for corpora whose chunks document a named object (python_docs): the
# request names the object, as a user would. Written for this project.
DOCUMENTATION_EXAMPLES = (
    (
        "Remove any common leading whitespace from every line in text. This can be used to make "
        "triple-quoted strings line up with the left edge of the display, while still presenting "
        "them in the source code in indented form.",
        "textwrap.dedent",
        "What does textwrap.dedent do, and when is it useful?",
    ),
    (
        "Return the median (middle value) of numeric data. When the number of data points is odd, "
        "return the middle data point. When the number of data points is even, the median is "
        "interpolated by taking the average of the two middle values.",
        "statistics.median",
        "How does statistics.median find the middle value when there is an even number of data points?",
    ),
)


def _answer_turn(text: str, subject: str | None = None) -> str:
    about = f" (about {subject})" if subject else ""
    return f"Answer{about}:\n{text}\n\nWrite the request this answers."


def backtranslation_messages(
    text: str,
    examples: list[tuple[str, str | None, str]],
    subject: str | None = None,
    language: str | None = None,
) -> list[dict[str, str]]:
    """Few-shot back-translation: each example (human answer, its subject or None, human
    instruction) is one user / assistant exchange, then the corpus text, with its ``subject``
    where the corpus names one (the documented Python object: docstrings rarely repeat their
    own name). Texts go in as values, never as template."""
    messages = [{"role": "system", "content": _with_clause(BACKTRANSLATION_SYSTEM, language, "the request")}]
    for answer, example_subject, instruction in examples:
        messages.append({"role": "user", "content": _answer_turn(answer, example_subject)})
        messages.append({"role": "assistant", "content": json.dumps({"instruction": instruction})})
    messages.append({"role": "user", "content": _answer_turn(text, subject)})
    return messages


def augmentation_messages(instruction: str, answer: str, language: str | None = None) -> list[dict[str, str]]:
    """Answer augmentation: rewrite a human answer to be clearer and more complete."""
    user = (
        f"Request:\n{instruction}\n\nCurrent answer:\n{answer}\n\n"
        "Rewrite the answer so that it answers the request more clearly and completely. Keep "
        "every correct fact, add nothing you are unsure of. Reply with the new answer only."
    )
    system = _with_clause(ANSWER_SYSTEM, language, "your answer")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def read_instruction(text: str) -> tuple[str, bool]:
    """(instruction, structured) from a generation reply: the ``instruction`` field of a JSON
    reply (constrained backends), else the first line of free text (the parse fallback)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("instruction"), str):
            return " ".join(data["instruction"].split()), True
        return "", False
    return clean_instruction(text), False


def clean_instruction(text: str) -> str:
    """First non-empty line of a generated task, without list numbering, labels or quotes."""
    for line in text.strip().splitlines():
        line = _LABEL.sub("", line).strip().strip('"').strip("'").strip()
        if line:
            return line
    return ""
