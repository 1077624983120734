import pytest

from synth_assets.instructions.evol import (
    OPERATORS,
    evolve_messages,
    instruction_elimination,
    response_elimination,
)


def test_every_operator_has_a_prompt_with_the_instruction():
    for operator in OPERATORS:
        content = evolve_messages("Explain photosynthesis {in} 'simple' terms.", operator)[0]["content"]
        assert "Explain photosynthesis {in} 'simple' terms." in content
    with pytest.raises(ValueError, match="unknown Evol-Instruct operator"):
        evolve_messages("x", "telepathy")


@pytest.mark.parametrize(
    "evolved,reason",
    [
        ("#Rewritten Prompt#: Explain photosynthesis to a child.", "copies_prompt_markers"),
        ("Here is the rewritten prompt: explain photosynthesis.", "copies_prompt_markers"),
        ("Explain photosynthesis in simple terms.", "no_new_information"),
        ("   ", "empty"),
    ],
)
def test_instruction_elimination(evolved, reason):
    assert instruction_elimination(
        evolved, "Explain photosynthesis in simple terms.", "deepening"
    ).startswith(reason)


def test_real_evolution_survives():
    parent = "Explain photosynthesis in simple terms."
    assert (
        instruction_elimination(
            "Explain photosynthesis in simple terms, using a table comparing C3 and C4 plants.",
            parent,
            "complicate_input",
        )
        is None
    )


@pytest.mark.parametrize(
    "response,reason",
    [
        ("I'm sorry, I cannot help with that.", "response_sorry"),
        ("... , the and of it !", "response_only_stopwords"),
    ],
)
def test_response_elimination(response, reason):
    assert response_elimination(response) == reason


def test_long_answer_mentioning_sorry_survives():
    response = "Sorry for the wait. " + " ".join(["Photosynthesis turns light into chemical energy."] * 20)
    assert response_elimination(response) is None
