"""Evol-Instruct (Xu et al. 2023, WizardLM): evolve instructions in depth and in breadth, then
eliminate failed evolutions.

Operators (our wording of the paper's method):
in depth -- add_constraints, deepening, concretizing, increase_reasoning, complicate_input;
in breadth -- breadth (a new, rarer instruction in the same domain).

Elimination (paper section 3.3, with the information-gain test made rule-based):
``no_new_information`` -- the evolved instruction adds no content word to its parent's;
``response_sorry`` -- the response contains "sorry" and is under 80 words;
``response_only_stopwords`` -- the response is nothing but punctuation and stop words;
``copies_prompt_markers`` -- the instruction repeats the template's markers.
"""

from __future__ import annotations

from synth_assets.instructions.languages import clause
from synth_assets.instructions.text import content_words, words

EVOL_TEMPLATE_VERSION = "evol-v2"  # v2: a language clause for languages other than English
IN_DEPTH = {
    "add_constraints": "Add one more constraint or requirement to it.",
    "deepening": "If it asks about a specific issue, make the inquiry deeper and broader.",
    "concretizing": "Replace general concepts with more specific ones.",
    "increase_reasoning": "If a few simple steps solve it, make it explicitly require "
    "reasoning in several steps.",
    "complicate_input": "Add a concrete input for it to work on, such as a short table, a code "
    "snippet or a list of data.",
}
IN_BREADTH = {"breadth": None}
OPERATORS = (*IN_DEPTH, *IN_BREADTH)
MARKERS = (
    "#the given prompt#",
    "#given prompt#",
    "#rewritten prompt#",
    "#created prompt#",
    "given prompt",
    "rewritten prompt",
    "created prompt",
)
SORRY_MAX_WORDS = 80


def evolve_messages(instruction: str, operator: str, language: str | None = None) -> list[dict[str, str]]:
    """The rewriting prompt for ``operator`` applied to ``instruction`` (written in ``language``)."""
    written = clause(language, "the prompt")
    written = f"{written} " if written else ""
    if operator in IN_DEPTH:
        user = (
            "You rewrite prompts. Rewrite the given prompt into a more complex version that is "
            "harder to answer well but still reasonable and answerable by a person. "
            f"{IN_DEPTH[operator]} Keep any input it contains. Add at most 20 words. {written}Reply with "
            "the rewritten prompt only; do not write the words 'given prompt' or 'rewritten "
            "prompt'.\n\n"
            f"#The Given Prompt#:\n{instruction}\n\n#Rewritten Prompt#:\n"
        )
    elif operator in IN_BREADTH:
        user = (
            "You create prompts. Taking the given prompt as inspiration, write a brand-new prompt "
            "in the same domain that is rarer, of similar length and difficulty, reasonable and "
            f"answerable by a person. {written}Reply with the new prompt only; do not write the words "
            "'given prompt' or 'created prompt'.\n\n"
            f"#Given Prompt#:\n{instruction}\n\n#Created Prompt#:\n"
        )
    else:
        raise ValueError(f"unknown Evol-Instruct operator {operator!r}; choose from {OPERATORS}")
    return [{"role": "user", "content": user}]


def instruction_elimination(evolved: str, parent: str, operator: str) -> str | None:
    """Reason to eliminate an evolved instruction before it gets a response, or None."""
    lowered = evolved.lower()
    for marker in MARKERS:
        if marker in lowered:
            return f"copies_prompt_markers ({marker})"
    if not evolved.strip():
        return "empty"
    if operator in IN_DEPTH and not (content_words(evolved) - content_words(parent)):
        return "no_new_information"
    if operator in IN_BREADTH and content_words(evolved) == content_words(parent):
        return "no_new_information"
    return None


def response_elimination(response: str) -> str | None:
    """Reason to eliminate an evolved instruction because of its response, or None."""
    tokens = words(response)
    if "sorry" in response.lower() and len(tokens) < SORRY_MAX_WORDS:
        return "response_sorry"
    if not content_words(response):
        return "response_only_stopwords"
    return None
