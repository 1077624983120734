"""The instruction lane's language: ISO 639-1 codes, the clause every template adds for a
language other than English, and the language mix of a set of texts.

Language identification is langdetect's (its profiles ship in the package, 55 languages;
seeded, so deterministic). Templates are written in English and ask for the output language,
which a capable model follows; the validators then reject pairs detected in another language.
"""

from __future__ import annotations

import os
from collections import Counter
from functools import cache

DEFAULT_LANGUAGE = "en"
# names for the prompts; any code langdetect knows is accepted (its name is then the code)
NAMES = {
    "ar": "Arabic", "bn": "Bengali", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian",
    "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "sw": "Swahili",
    "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese",
    "zh": "Chinese",
}  # fmt: skip
MIN_CHARS = 12  # shorter texts are "unknown" in the mix: too little to identify
# languages written in their own script: a text with none of it is not in that language, however
# short (langdetect needs about 20 words to be sure)
SCRIPTS = {
    **dict.fromkeys(("ko",), ("Hangul", "[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")),
    **dict.fromkeys(("ja",), ("kana or kanji", "[\u3040-\u30ff\u4e00-\u9fff]")),
    **dict.fromkeys(("zh",), ("Han characters", "[\u3400-\u4dbf\u4e00-\u9fff]")),
    **dict.fromkeys(("ru", "uk", "bg", "mk"), ("Cyrillic", "[\u0400-\u04ff]")),
    **dict.fromkeys(("ar", "fa", "ur"), ("Arabic script", "[\u0600-\u06ff\u0750-\u077f]")),
    **dict.fromkeys(("he",), ("Hebrew", "[\u0590-\u05ff]")),
    **dict.fromkeys(("hi", "mr", "ne"), ("Devanagari", "[\u0900-\u097f]")),
    **dict.fromkeys(("bn",), ("Bengali script", "[\u0980-\u09ff]")),
    **dict.fromkeys(("th",), ("Thai script", "[\u0e00-\u0e7f]")),
    **dict.fromkeys(("el",), ("Greek", "[\u0370-\u03ff]")),
}


def missing_script(text: str, code: str) -> str | None:
    """The script ``code`` is written in, when ``text`` has letters but none of that script."""
    import re

    if code not in SCRIPTS or not re.search(r"[^\W\d_]", text):
        return None
    name, pattern = SCRIPTS[code]
    return None if re.search(pattern, text) else name


@cache
def known_codes() -> frozenset[str]:
    """ISO 639-1 codes langdetect can identify (``zh-cn`` and ``zh-tw`` count as ``zh``)."""
    from langdetect.detector_factory import PROFILES_DIRECTORY

    return frozenset(name.split("-")[0] for name in os.listdir(PROFILES_DIRECTORY))


def normalise(code: str | None) -> str:
    """``code`` as a lower-case ISO 639-1 code (``ko``, ``zh`` for ``zh-TW``); an unknown code is
    an error that lists the known ones."""
    text = (code or DEFAULT_LANGUAGE).strip().lower().replace("_", "-").split("-")[0]
    if text not in known_codes():
        raise ValueError(
            f"unknown language {code!r}: use an ISO 639-1 code langdetect can identify, one of "
            f"{', '.join(sorted(known_codes()))}"
        )
    return text


def language_name(code: str) -> str:
    return NAMES.get(code, code)


def is_english(code: str | None) -> bool:
    return normalise(code) == "en"


def clause(code: str | None, what: str = "it") -> str:
    """The sentence a template adds for a language other than English ("" for English, so the
    English prompts stay as they were)."""
    if code is None or is_english(code):
        return ""
    return f"Write {what} in {language_name(normalise(code))}."


def detect(text: str) -> str:
    """The most likely language of ``text`` (``unknown`` when too short or unidentifiable)."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    if len(text.strip()) < MIN_CHARS:
        return "unknown"
    try:
        return detect_langs(text)[0].lang.split("-")[0]
    except LangDetectException:
        return "unknown"


def language_mix(texts: list[str]) -> dict[str, float]:
    """Share of ``texts`` per detected language, largest first."""
    if not texts:
        return {}
    counts = Counter(detect(t) for t in texts)
    return {code: n / len(texts) for code, n in counts.most_common()}
