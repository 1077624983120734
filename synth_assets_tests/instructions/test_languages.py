"""The lane's language: codes, the clause in every template, filters and validators that do not
assume English, and the language mix."""

import pytest

from synth_assets.instructions import critic, evol, generation
from synth_assets.instructions.filters import rule_violation
from synth_assets.instructions.languages import clause, detect, language_mix, normalise
from synth_assets.instructions.validators import instruction_problem, pair_problem

KO_INSTRUCTION = "김치찌개를 맛있게 끓이는 방법을 단계별로 설명해 주세요"
KO_RESPONSE = (
    "먼저 잘 익은 김치와 돼지고기를 냄비에 넣고 볶습니다. 김치가 부드러워지면 물이나 멸치 육수를 "
    "붓고 고춧가루와 다진 마늘을 넣어 끓입니다. 마지막으로 두부와 대파를 넣고 오 분 정도 더 "
    "끓이면 완성됩니다. 간은 김치 국물로 맞추는 것이 좋습니다."
)


def test_codes_are_normalised_and_unknown_ones_refused():
    assert normalise("KO") == "ko" and normalise("zh_TW") == "zh" and normalise(None) == "en"
    with pytest.raises(ValueError, match="unknown language 'xx'.*ko"):
        normalise("xx")


def test_every_template_asks_for_the_language_and_english_prompts_are_unchanged():
    assert clause("en") == "" and clause("ko", "the task") == "Write the task in Korean."
    prompts = {
        "self_instruct": generation.self_instruct_messages("요리", ["Explain x"], None, "ko"),
        "topic": generation.topic_prompt_messages("요리", None, "ko"),
        "backtranslation": generation.backtranslation_messages(KO_RESPONSE, [], None, "ko"),
        "answer": generation.answer_messages(KO_INSTRUCTION, "ko"),
        "augmentation": generation.augmentation_messages(KO_INSTRUCTION, KO_RESPONSE, "ko"),
        "evolve": evol.evolve_messages(KO_INSTRUCTION, "breadth", "ko"),
        "judge": critic.judge_messages(KO_INSTRUCTION, KO_RESPONSE, "ko"),
    }
    for name, messages in prompts.items():
        assert "Korean" in " ".join(m["content"] for m in messages), name
    assert "Korean" in generation.magpie_system_prompt("요리", "ko")
    assert generation.answer_messages("x", "en") == generation.answer_messages("x")
    assert generation.instruction_schema("en") == generation.INSTRUCTION_SCHEMA
    assert "Explain" not in generation.instruction_schema("ko")  # English openers bind English only


def test_words_keep_their_combining_marks():
    from synth_assets.instructions.text import rouge_tokens

    assert rouge_tokens("नमस्ते दुनिया, यह एक परीक्षण है") == ["नमस्ते", "दुनिया", "यह", "एक", "परीक्षण", "है"]
    assert rule_violation("नमस्ते दुनिया आज", language="hi") is None  # three words, not seven pieces


def test_korean_passes_the_filters_that_english_rules_would_fail():
    assert rule_violation(KO_INSTRUCTION) == "non_ascii"  # an English lane
    assert rule_violation(KO_INSTRUCTION, language="ko") is None
    assert rule_violation("짧다", language="ko").startswith("too_short")
    assert instruction_problem(KO_INSTRUCTION) == "not_a_task"
    assert instruction_problem(KO_INSTRUCTION, "ko") is None
    # self-reference is still caught (the shape check is what English only)
    assert instruction_problem("As an AI language model, I cannot 요리", "ko").startswith("self_reference")
    assert pair_problem(KO_INSTRUCTION, KO_RESPONSE, language="ko") is None


def test_pairs_in_another_language_are_rejected_and_the_mix_is_measured():
    english = (
        "Explain step by step how to cook a rich kimchi stew at home with pork, tofu, spring onions "
        "and anchovy stock, and say how long each step takes."
    )
    assert (
        pair_problem(english, KO_RESPONSE, language="ko")
        == "instruction_language_mismatch (expected ko, no Hangul)"
    )
    # a short request too (langdetect needs about 20 words; the missing script needs none)
    assert pair_problem("How do I reverse a list?", KO_RESPONSE, language="ko").endswith("no Hangul)")
    assert pair_problem(
        "Wie drehe ich eine Liste um?", "Mit reversed(liste) oder liste[::-1].", language="ru"
    ).endswith("no Cyrillic)")
    # langdetect still judges languages that share a script (20+ words)
    german = (
        "Erkläre Schritt für Schritt, wie man zu Hause einen kräftigen Eintopf mit Schweinefleisch, Tofu, "
        "Frühlingszwiebeln und Sardellenbrühe kocht, und sage, wie lange jeder Schritt dauert."
    )
    assert pair_problem(german, german, language="en").startswith(
        "instruction_language_mismatch (expected en, detected de)"
    )
    assert detect(KO_RESPONSE) == "ko" and detect("hi") == "unknown"
    mix = language_mix([KO_RESPONSE, KO_INSTRUCTION, english, "ok"])
    assert mix == {"ko": 0.5, "en": 0.25, "unknown": 0.25}
