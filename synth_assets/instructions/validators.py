"""Rule validators for instruction / response pairs, run before any critic (LLM judge or
log-likelihood critic). Every problem comes back as a reason string -- a snake_case name,
optionally followed by `` (detail)`` -- so a rejected pair keeps why it was rejected.

Why rules first: small local models (SmolLM2-135M) asked to *write a task* often write a
non-task instead ("I'm here to assist you, and I'm a language learning app.", "Here's a response
that's a bit longer than what's requested:", "Sure! Here is a question:"), and asked to *answer*
they refuse, talk about being an AI, echo the instruction or stop at the token limit. A critic
should never have to spend a call on those.

Reasons (:data:`REASONS`):

``empty``
    blank instruction or response.
``not_a_task``
    the instruction is neither a task nor a question (English only, see below), or it speaks in
    the assistant's voice ("Sure!", "Certainly", "Here is a question:", "I'm happy to help",
    "How can I assist you?").
``self_reference``
    the text talks about itself as an AI ("As an AI language model, I ...", "I'm an AI
    assistant", "I don't have personal opinions", "my training data").
``refusal``
    the response declines near its start ("I'm sorry, but I can't ...", "I cannot help with",
    "I am unable to ...", "I won't ...") or is mostly an apology. Skipped when the instruction itself asks for
    a refusal or an apology (a polite "no" email), where "I'm sorry, but I can't attend" is right.
``echoes_instruction``
    the response mostly restates the instruction: ROUGE-L F >= 0.7 against it, or it contains
    the whole instruction and adds fewer than 8 content words (so a terse answer that first
    repeats the whole instruction verbatim is rejected too).
``code_does_not_parse``
    a fenced ```python / ```py block (or an untagged ``` block when the instruction mentions
    Python) fails :func:`ast.parse`; the detail says ``line N: message``.
``cut_off``
    the generation stopped at its token limit (``finish_reason == "length"``).
``language_mismatch`` / ``instruction_language_mismatch``
    a ``language`` (ISO 639-1) was asked for and langdetect (seeded, so deterministic) is at
    least 90% sure that a text of 20 or more words is in another language; shorter texts are
    not judged. Code (fenced blocks, code-like lines, inline code) and URLs are left out
    before detecting.

Order: :func:`response_problem` reports the first of empty, refusal, self_reference,
echoes_instruction, cut_off, code_does_not_parse, language_mismatch.

What counts as a task: some clause of the instruction -- after any leading politeness or context
("please", "can you", "kindly", "Given the list [3, 1, 2], ", "I want to learn Spanish; ",
"In Python, ", "Context: ...") -- starts with one of :data:`TASK_VERBS` (an imperative) or with
one of :data:`REQUEST_OPENERS` ("I need you to", "help me"). A question is a clause ending in
"?" or starting with one of :data:`QUESTION_WORDS` (wh-words and auxiliaries). These word lists
are English; :func:`pair_problem` skips the task/question shape for other languages.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

from synth_assets.instructions.languages import missing_script
from synth_assets.instructions.text import content_words, rouge_l, words

VALIDATOR_VERSION = "validators-v1"

REASONS: tuple[str, ...] = (
    "empty",  # blank instruction or response
    "not_a_task",  # instruction is neither an imperative task nor a question, or is assistant talk
    "self_reference",  # "As an AI language model, I ...", "I'm an AI assistant", "I don't have opinions"
    "instruction_language_mismatch",  # instruction confidently detected in another language
    "refusal",  # "I'm sorry, but I can't ..." near the start, or mostly an apology
    "echoes_instruction",  # ROUGE-L F >= 0.7 vs the instruction, or contains it + < 8 new content words
    "cut_off",  # finish_reason == "length": stopped at the token limit
    "code_does_not_parse",  # a Python code block fails ast.parse ("line N: msg")
    "language_mismatch",  # response confidently detected in another language than asked for
)

ECHO_ROUGE_L = 0.7
ECHO_NEW_CONTENT_WORDS = 8
LANGUAGE_MIN_WORDS = 20
LANGUAGE_MIN_PROBABILITY = 0.9
REFUSAL_WINDOW_CHARS = 300  # refusals are judged on the response's opening only
APOLOGY_SHARE = 0.5  # "mostly an apology": apologetic sentences hold at least this share of words

# Imperative verbs that open a task. Words that are mostly nouns at the start of a sentence
# ("note", "state", "report", "code", "point") are left out on purpose.
TASK_VERBS = frozenset(
    """
    act add adapt advise analyse analyze answer apply approximate argue arrange assess assume
    brainstorm break build calculate categorise categorize change check choose clarify classify
    combine come compare compile complete compose compute condense construct continue contrast
    convert correct count craft create critique debug decide decode define delete demonstrate
    derive describe design detail detect determine develop devise diagnose discuss distinguish
    divide draft edit elaborate encode enumerate estimate evaluate examine expand explain explore
    express extract figure fill find finish fix format formulate generate give group guess help
    highlight identify illustrate imagine implement improve infer insert interpret invent justify
    label let list locate make mention merge modify multiply name offer optimise optimize order
    organise organize outline paraphrase parse persuade pick plan predict prepare present pretend
    prioritise prioritize produce program proofread propose prove provide rank rate read recommend
    recount refactor reformulate rephrase replace respond restate review revise rewrite role
    schedule search select share shorten show simplify solve sort specify spell split suggest
    summarise summarize supply teach tell think translate try turn use validate verify walk write
    """.split()
)
# Wh-words and auxiliaries that open a question ("have"/"has"/"had" are left out: "Have a nice
# day!" is not a question; "Have you ...?" still ends in "?").
QUESTION_WORDS = frozenset(
    """
    what what's whats why how how's when where where's which who who's whom whose whether
    is isn't are aren't am was wasn't were weren't can can't could couldn't should shouldn't
    would wouldn't do don't does doesn't did didn't will won't may might must shall
    """.split()
)
# Words before the real start of a clause that do not change what it is.
LEAD_INS = frozenset(
    """
    please kindly now also then and so but just briefly quickly simply finally first next lastly
    hey hi hello okay ok alright well
    """.split()
)
# Multi-word openers of a request that is neither imperative nor a question.
REQUEST_OPENERS = (
    "i need you to",
    "i want you to",
    "i'd like you to",
    "i would like you to",
    "help me",
    "i need help",
    "i'd like help",
    "i would like help",
)
# Openers of assistant speech: an instruction that starts like this is not a task.
_INTERJECTIONS = r"^\W*(?:(?:okay|ok|alright|well|hi|hello|hey|great|so|oh)\b\W*)*"
ASSISTANT_OPENERS = re.compile(
    _INTERJECTIONS + r"(?:sure|certainly|of course|absolutely|gladly|great question|good question|"
    r"here you go|here it is|as an ai|as a (?:large )?language model|as your assistant|"
    r"what an? \w+(?: \w+)? (?:question|idea|request|topic)|"
    r"thank(?:s| you) for (?:your|the|this|that|asking|reaching))\b",
    re.IGNORECASE,
)
# "Here is/Here's/Here are ..." opens a presented text; it is a non-task when the presented
# thing is itself a task, answer or example (a preamble), or when no task or question follows.
HERE_IS = re.compile(_INTERJECTIONS + r"here(?:'s| is| are)\b", re.IGNORECASE)
META_NOUNS = re.compile(
    r"\b(?:question|questions|task|tasks|instruction|instructions|prompt|prompts|request|"
    r"response|responses|answer|answers|reply|example|examples|version|attempt|output|one)\b",
    re.IGNORECASE,
)
# Assistant-voice phrases anywhere in an instruction.
ASSISTANT_PHRASES = re.compile(
    r"\b(?:(?:happy|glad|here) to (?:help|assist)|how (?:can|may|could) i (?:help|assist)|"
    r"i hope this helps|i(?:'d| would) be (?:happy|glad|delighted) to|"
    r"what (?:can i|would you like me to) (?:help|assist|do for you)|let me know if|"
    r"feel free to (?:ask|reach|let)|if you have any (?:other |more |further )?questions)\b",
    re.IGNORECASE,
)

_AI = (
    r"(?:an? )?(?:ai|a\.i\.|artificial intelligence|(?:large )?language model|llm|chatbot|chat bot|"
    r"(?:virtual |digital |ai |helpful |ai language model )?assistant|ai (?:language )?model|ai system|bot)"
    # and nothing that makes it a compound noun ("an AI researcher", "an assistant manager")
    r"(?=\s*(?:[,.!?;:)\n]|$)|\s+(?:that|who|which|designed|created|developed|trained|built|made|"
    r"programmed|here|and|so|but|by|from|with|named|called|like|without|i|i'm|my|can|cannot|can't|"
    r"do|don't|does|doesn't|is|am|only|just)\b)"
)
SELF_REFERENCE = (
    # "As an AI language model, I ..." -- the first person must follow in the same sentence,
    # so "As a language model, GPT-2 predicts ..." is not self-reference.
    re.compile(rf"\bas {_AI}[^.!?\n]{{0,60}}?\b(?:i|i'm|i've|my|me)\b", re.IGNORECASE),
    re.compile(
        rf"\bi(?:'m| am)(?: just| only| simply| merely| not| but)? {_AI}"
        r"|\bi(?:'m| am) (?:smollm|chatgpt|gpt|claude|llama|a computer program|a machine|"
        r"a program|an? (?:language|chat) app)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\bi (?:don't|do not|can't|cannot) (?:have|hold|form|experience) (?:any )?(?:personal|"
        r"feelings|emotions|opinions|beliefs|preferences|consciousness|a (?:physical )?body|"
        r"experiences|real-time|access to (?:the internet|real-time|current|live|external))",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:my (?:training data|training cut-?off|knowledge cut-?off|programming)|"
        r"i was (?:trained|programmed|created|developed) (?:by|on|to))\b",
        re.IGNORECASE,
    ),
)

# An instruction that opens with "As an AI ..." speaks as the model even without "I".
SELF_REFERENCE_OPENER = re.compile(rf"^\W*as {_AI}", re.IGNORECASE)

_HELP_VERBS = (
    r"(?:help|assist|provide|answer|fulfil|fulfill|comply|do|write|create|generate|complete|"
    r"engage|give|share|offer|produce|support|continue|respond|discuss|perform|process|access|"
    r"browse|see|view|open|display|execute|run|make|tell|draft|satisfy|accommodate|participate|"
    r"talk|go|promote|encourage|condone|endorse|translate|summari[sz]e|explain|answer)"
)
_CANT = (
    r"(?:can't|cannot|can not|won't|will not|(?:won't|will not) be able to|am unable to|am not able to|"
    r"'m unable to|'m not able to)"
)
REFUSAL = (
    # "I cannot help but ..." / "I can't help thinking ..." are idioms, not refusals
    re.compile(rf"\bi ?{_CANT} (?!help (?:but|\w+ing)\b)(?:\w+ )?{_HELP_VERBS}\b", re.IGNORECASE),
    re.compile(r"\b(?:sorry|apologi[sz]e|afraid|unfortunately),? (?:but )?i ?" + _CANT, re.IGNORECASE),
    re.compile(
        r"\bi (?:must|have to|need to) (?:respectfully |politely )?(?:decline|refuse)\b|"
        r"\bi(?:'m| am) not (?:allowed|permitted|comfortable|programmed|designed) to\b|"
        r"\bi (?:don't|do not) feel comfortable\b|"
        r"\b(?:against|violates?) my (?:guidelines|programming|policy|policies|principles|ethics)\b|"
        r"\bthat(?:'s| is) not something i (?:can|will|am able)\b|"
        r"\bit (?:is|would be) (?:inappropriate|unethical|not appropriate) for me to\b|"
        r"\bi(?:'m| am) sorry,? (?:but )?i (?:don't|do not) (?:understand|know)\b",
        re.IGNORECASE,
    ),
)
APOLOGY = re.compile(r"\b(?:sorry|apologi[sz]e|apologies)\b", re.IGNORECASE)
# Instructions that ask for a refusal or apology of their own (a polite "no" email): the
# response may then say "I'm sorry, but I can't attend"; only self-reference is checked.
ASKS_FOR_REFUSAL = re.compile(
    r"\b(?:apolog|declin|refus|sorry|reject|turn(?:ing)? down|say(?:ing)? no|cancel|excuse|can't make)",
    re.IGNORECASE,
)

_FENCE = re.compile(r"^[ \t]*```[ \t]*([^\n`]*)\n(.*?)(?:^[ \t]*```|\Z)", re.MULTILINE | re.DOTALL)
_PYTHON_TAGS = {"python", "py", "python3", "py3", "pycon", "ipython"}
_MENTIONS_PYTHON = re.compile(r"\bpython\b", re.IGNORECASE)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
# A line that looks like code rather than prose (indented, a call, an assignment, a statement
# ending, a code keyword or prompt at the start). Dropping a prose line by mistake costs nothing
# but a few words for language detection.
_CODE_LINE = re.compile(
    r"^(?: {4}|\t)|\w\(|[=!<>]=|\s=\s|[{};:]\s*$|"
    r"^\s*(?:def|class|import|from|return|print|const|let|var|function|public|#|//|@|\$|>>>)(?:\s|\(|$)"
)
_URL = re.compile(r"https?://\S+|www\.\S+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CLAUSE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

DetectorFactory.seed = 0  # langdetect is randomised; a fixed seed makes it deterministic


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')


def _tokens(clause: str) -> list[str]:
    return _TOKEN.findall(clause.lower())


def _is_task_or_question(clause: str) -> bool:
    """Whether one clause (a sentence or a comma-separated part of one) is a task or question."""
    if clause.rstrip(" \"')]").endswith("?"):
        return True
    tokens = _tokens(clause)
    while tokens and tokens[0] in LEAD_INS:
        tokens = tokens[1:]
    if not tokens:
        return False
    if tokens[0] in TASK_VERBS or tokens[0] in QUESTION_WORDS:
        return True
    joined = " ".join(tokens)
    return any(joined == opener or joined.startswith(opener + " ") for opener in REQUEST_OPENERS)


def _has_task(text: str) -> bool:
    for sentence in _CLAUSE_END.split(text):
        # a context clause may come first: "Given the list [3, 1, 2], sort it ..."
        if any(_is_task_or_question(part) for part in sentence.split(",")):
            return True
    return False


def _self_reference(text: str) -> str | None:
    for pattern in SELF_REFERENCE:
        match = pattern.search(text)
        if match:
            return f"self_reference ({match.group(0).strip()[:60]})"
    return None


def _instruction_problem(instruction: str, shape: bool = True) -> str | None:
    text = _normalise(instruction or "").strip()
    if not text:
        return "empty"
    reason = _self_reference(text)
    if reason:
        return reason
    opener = SELF_REFERENCE_OPENER.match(text)
    if opener:
        return f"self_reference ({opener.group(0).strip()})"
    if not shape:
        return None
    opener = ASSISTANT_OPENERS.match(text)
    if opener:
        return f"not_a_task (opens like a reply: {opener.group(0).strip()})"
    phrase = ASSISTANT_PHRASES.search(text)
    if phrase:
        return f"not_a_task (assistant talk: {phrase.group(0)})"
    if HERE_IS.match(text):
        first = _CLAUSE_END.split(text, maxsplit=1)
        if META_NOUNS.search(first[0]) or len(first) < 2 or not _has_task(first[1]):
            return "not_a_task (opens like a reply: here is)"
        return None
    if not _has_task(text):
        return "not_a_task"
    return None


def instruction_problem(instruction: str, language: str | None = None) -> str | None:
    """Why ``instruction`` is not usable (``empty``, ``self_reference`` or ``not_a_task``,
    optionally with a detail in parentheses), or None. The task/question shape is judged in
    English only."""
    english = language is None or language.strip().lower().startswith("en")
    return _instruction_problem(instruction, shape=english)


def _refusal(instruction: str, response: str) -> str | None:
    if ASKS_FOR_REFUSAL.search(instruction):
        return None
    opening = response[:REFUSAL_WINDOW_CHARS]
    for pattern in REFUSAL:
        match = pattern.search(opening)
        if match:
            return f"refusal ({match.group(0).strip()[:60]})"
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", response) if s.strip()]
    total = sum(len(words(s)) for s in sentences)
    apologetic = sum(len(words(s)) for s in sentences if APOLOGY.search(s))
    if total and apologetic / total >= APOLOGY_SHARE:
        return "refusal (mostly an apology)"
    return None


def _echo(instruction: str, response: str) -> str | None:
    score = rouge_l(instruction, response)
    if score >= ECHO_ROUGE_L:
        return f"echoes_instruction (rouge_l {score:.2f})"
    asked = words(instruction)
    if len(asked) >= 3 and f" {' '.join(asked)} " in f" {' '.join(words(response))} ":
        new = content_words(response) - content_words(instruction)
        if len(new) < ECHO_NEW_CONTENT_WORDS:
            return f"echoes_instruction (contains it, {len(new)} new content words)"
    return None


def _python_source(block: str) -> str:
    """The code of a fenced block, with ``>>>`` / ``...`` console prompts unwrapped."""
    lines = block.splitlines()
    if any(line.lstrip().startswith(">>>") for line in lines):
        kept = []
        for line in lines:
            stripped = line.lstrip()
            if stripped.startswith((">>> ", "... ")) or stripped in (">>>", "..."):
                kept.append(stripped[4:])
        lines = kept
    return textwrap.dedent("\n".join(lines))


def _code_problem(instruction: str, response: str) -> str | None:
    python_meant = bool(_MENTIONS_PYTHON.search(instruction))
    for match in _FENCE.finditer(response):
        tag = match.group(1).strip().split()[0].lower() if match.group(1).strip() else ""
        if not (tag in _PYTHON_TAGS or (not tag and python_meant)):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning for "\d" and the like
                ast.parse(_python_source(match.group(2)))
        except SyntaxError as err:
            return f"code_does_not_parse (line {err.lineno}: {err.msg})"
        except (ValueError, RecursionError, MemoryError) as err:
            return f"code_does_not_parse (line ?: {type(err).__name__})"
    return None


def _prose(text: str) -> str:
    """``text`` without fenced blocks, code-like lines, inline code and URLs: code (fenced or
    not) makes langdetect guess wildly, e.g. Danish for a three-line Python function."""
    lines = [line for line in _FENCE.sub("\n", text).splitlines() if not _CODE_LINE.search(line)]
    return _URL.sub(" ", _INLINE_CODE.sub(" ", "\n".join(lines)))


def _language_problem(text: str, language: str) -> str | None:
    """``(expected xx, detected yy)`` when langdetect is confident ``text`` is in another
    language, ``(expected xx, no <script>)`` when a language with its own script (Korean,
    Russian, Hindi, ...) is asked for and the text has none of it; None when it agrees, is
    unsure, or the text is too short to judge."""
    expected = language.strip().lower().replace("_", "-").split("-")[0]
    prose = _prose(text)
    script = missing_script(prose, expected)
    if script:  # a short text, too: no word of the language's own script
        return f"(expected {expected}, no {script})"
    n_words = len(re.findall(r"\w+", _CJK.sub(" ", prose))) + len(_CJK.findall(prose))
    if n_words < LANGUAGE_MIN_WORDS:
        return None
    try:
        best = detect_langs(prose)[0]
    except LangDetectException:
        return None
    detected = best.lang.lower().split("-")[0]
    if detected != expected and best.prob >= LANGUAGE_MIN_PROBABILITY:
        return f"(expected {expected}, detected {detected})"
    return None


def response_problem(
    instruction: str, response: str, finish_reason: str | None = None, language: str | None = None
) -> str | None:
    """The first problem with ``response`` to ``instruction``, or None.

    Checked in this order: empty, refusal, self_reference, echoes_instruction, cut_off,
    code_does_not_parse, language_mismatch (only when ``language`` is given). ``cut_off`` comes
    before the code check because a truncated block usually fails to parse for that reason.
    """
    instruction = _normalise(instruction or "")
    text = _normalise(response or "").strip()
    if not text:
        return "empty"
    return (
        _refusal(instruction, text)
        or _self_reference(text)
        or _echo(instruction, text)
        or ("cut_off (finish_reason length)" if finish_reason == "length" else None)
        or _code_problem(instruction, text)
        or (
            "language_mismatch " + mismatch
            if language and (mismatch := _language_problem(text, language))
            else None
        )
    )


def pair_problem(
    instruction: str, response: str, finish_reason: str | None = None, language: str | None = None
) -> str | None:
    """The first problem with the pair: the instruction's, then the response's
    (:func:`response_problem`).

    The instruction is checked for ``empty`` and ``self_reference``, then (``language`` given)
    ``instruction_language_mismatch`` -- before the task/question shape, since a German
    instruction in an English run is "not a task" only because it is German -- then, as in
    :func:`instruction_problem`, ``not_a_task``; that shape check is English-only and skipped
    when another ``language`` is asked for.
    """
    reason = _instruction_problem(instruction, shape=False)
    if reason:
        return reason
    if language and (mismatch := _language_problem(instruction, language)):
        return "instruction_language_mismatch " + mismatch
    if language is None or language.strip().lower().startswith("en"):
        reason = _instruction_problem(instruction)
        if reason:
            return reason
    return response_problem(instruction, response, finish_reason, language)
