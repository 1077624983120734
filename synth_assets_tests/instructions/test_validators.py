import ast
import re

import pytest

from synth_assets.instructions import validators
from synth_assets.instructions.validators import (
    REASONS,
    VALIDATOR_VERSION,
    instruction_problem,
    pair_problem,
    response_problem,
)

GOOD_INSTRUCTIONS = [
    "Explain why the sky is blue during the day but red at sunset.",
    "How do I change a flat tyre on a bicycle?",
    "Write a haiku about autumn.",
    "Given the list [3, 1, 2], sort it in descending order.",
    "Convert 5 miles to kilometres.",
    "What is the capital of Peru?",
    "Please summarise the following paragraph: The city council met on Tuesday to discuss the new "
    "bike lanes. Most members supported the plan, but two asked for more parking first.",
    "In Python, how can I read a CSV file?",
    "I want to learn Spanish; suggest a weekly plan.",
    "My tomato leaves are turning yellow. What should I do?",
    "Can you recommend three novels for a long train journey?",
    "Could you outline the main causes of the French Revolution?",
    "List five healthy breakfast ideas that take under ten minutes.",
    "Compare renting and buying a home for a young family.",
    "Translate 'Good morning, how are you?' into French.",
    "Is it safe to eat raw cookie dough?",
    "Define photosynthesis in one sentence.",
    "Using Python, write a function that checks whether a string is a palindrome.",
    "Here is a list of numbers: 4, 8, 15, 16. Calculate their mean.",
    "Which planet in the solar system has the most moons?",
    "I'm planning a trip to Japan in April. What should I pack?",
    "Explain how a large language model predicts the next word.",
    "I am an AI researcher. Explain how dropout prevents overfitting.",
    "Hi! Can you explain recursion with a short example?",
    "Help me write a cover letter for a junior developer role.",
    "Imagine you are a tour guide in Rome. Describe the Colosseum.",
    "Solve for x: 2x + 3 = 11.",
]


@pytest.mark.parametrize("text", GOOD_INSTRUCTIONS)
def test_tasks_and_questions_pass(text):
    assert instruction_problem(text) is None


@pytest.mark.parametrize(
    "text,reason",
    [
        ("I'm here to assist you, and I'm a language learning app.", "not_a_task"),
        ("Here's a response that's a bit longer than what's requested:", "not_a_task"),
        ("Sure! Here is a question:", "not_a_task"),
        ("Sure! Here is a question: What is the capital of France?", "not_a_task"),
        ("Certainly, I can do that for you.", "not_a_task"),
        ("Here is an example of a task for you.", "not_a_task"),
        ("I am happy to help you with anything you need today.", "not_a_task"),
        ("Hello! How can I assist you today?", "not_a_task"),
        ("What a great question! Photosynthesis is how plants make food.", "not_a_task"),
        ("The weather in Paris is usually mild in spring.", "not_a_task"),
        ("I love going to the beach with my family.", "not_a_task"),
        ("As an AI language model, I can help you with many tasks.", "self_reference"),
        ("As an AI, explain the water cycle.", "self_reference"),
        ("I'm an AI assistant created to answer questions.", "self_reference"),
        ("I'm SmolLM, your helpful assistant.", "self_reference"),
        ("Okay, here is a new instruction: Explain photosynthesis.", "not_a_task"),
        ("Here's a rewritten version of the prompt:", "not_a_task"),
        ("Let me know if you need anything else.", "not_a_task"),
        ("Of course! What would you like to know?", "not_a_task"),
        ("I am a large language model trained by a company.", "self_reference"),
        ("", "empty"),
        ("   \n ", "empty"),
    ],
)
def test_non_tasks_rejected(text, reason):
    problem = instruction_problem(text)
    assert problem is not None and problem.split(" ")[0] == reason, problem


LONG_GOOD = (
    "Yellow leaves on tomato plants usually point to one of three things. The most common is a "
    "lack of nitrogen: the oldest leaves turn pale and then yellow while the new growth stays "
    "green. Feed the plants with a balanced fertiliser every two weeks. The second is uneven "
    "watering; water deeply twice a week rather than a little every day, and mulch the soil to "
    "keep it evenly moist. The third is early blight, a fungus that makes brown spots with "
    "yellow rings. Remove the affected leaves and avoid wetting the foliage."
)
GERMAN = (
    "Der Himmel ist blau, weil das Sonnenlicht an den Molekülen der Luft gestreut wird. Kurzwelliges "
    "blaues Licht wird dabei viel stärker gestreut als langwelliges rotes Licht, deshalb sehen wir "
    "tagsüber aus allen Richtungen blaues Licht. Bei Sonnenuntergang ist der Weg durch die "
    "Atmosphäre länger, und das blaue Licht wird fast vollständig herausgestreut."
)
ENGLISH_SKY = (
    "The sky looks blue because sunlight is scattered by the molecules of the air. Short blue "
    "wavelengths are scattered much more strongly than long red ones, so during the day blue light "
    "reaches our eyes from every direction. At sunset the light travels through more air and most "
    "of the blue is scattered away."
)
SKY = "Explain why the sky is blue during the day but red at sunset."


@pytest.mark.parametrize(
    "response",
    [
        "I'm sorry, but I can't help with that request.",
        "I cannot help you with this.",
        "I am unable to provide that information.",
        "I won't write that for you.",
        "Unfortunately, I cannot assist with this kind of question.",
        "I'm sorry, I don't understand the question.",
        "I apologize for any confusion. Sorry again!",
        "I'm afraid I can't do that. " + "There are other resources you may want to look at.",
        "I must decline this request.",
    ],
)
def test_refusals(response):
    assert response_problem("How do I change a flat tyre on a bicycle?", response).startswith("refusal")


@pytest.mark.parametrize(
    "response",
    [
        "As an AI language model, I don't have the ability to taste food, but pasta is popular.",
        "I'm an AI assistant, so I can only share general information about diets and health.",
        "I don't have personal opinions, but many people enjoy both cats and dogs for different reasons.",
        "As a language model, I think the answer depends on your needs.",
        "That depends on my training data, which covers books and websites up to a certain year.",
    ],
)
def test_self_reference(response):
    assert response_problem("Which is better, cats or dogs?", response).startswith("self_reference")


@pytest.mark.parametrize(
    "instruction,response",
    [
        (SKY, SKY),  # exact echo
        (SKY, "Sure! " + SKY),
        (SKY, "Question: " + SKY + " Answer: the sky."),
        (
            "Write a haiku about autumn.",
            "Here is my answer. Write a haiku about autumn. I hope you like it!",
        ),
    ],
)
def test_echoes(instruction, response):
    assert response_problem(instruction, response).startswith("echoes_instruction")


def test_restating_the_question_with_a_real_answer_is_not_an_echo():
    instruction = "What is the capital of Peru?"
    response = (
        "What is the capital of Peru? The capital of Peru is Lima, a coastal city founded by Francisco "
        "Pizarro in 1535. It is the country's largest city, its political and economic centre, and "
        "home to about ten million people."
    )
    assert response_problem(instruction, response) is None


BROKEN = "Here you go:\n\n```python\ndef add(a, b)\n    return a + b\n```\n"
VALID = "Here you go:\n\n```python\ndef add(a, b):\n    return a + b\n\nprint(add(2, 3))\n```\n"


@pytest.mark.parametrize(
    "instruction,response,line",
    [
        ("Write a function that adds two numbers.", BROKEN, 1),
        ("Write a function that adds two numbers.", BROKEN.replace("```python", "```py"), 1),
        ("Write a Python function that adds two numbers.", BROKEN.replace("```python", "```"), 1),
        (
            "Write a function that adds two numbers.",
            VALID + "\nAnd a loop:\n\n```python\nfor i in range(3):\nprint(i)\n```\n",
            2,
        ),
    ],
)
def test_broken_python_blocks(instruction, response, line):
    problem = response_problem(instruction, response)
    assert problem is not None and problem.startswith(f"code_does_not_parse (line {line}: "), problem


@pytest.mark.parametrize(
    "instruction,response",
    [
        ("Write a function that adds two numbers.", VALID),
        ("Write a Python function that adds two numbers.", VALID.replace("```python", "```")),
        # an untagged block is only parsed when the instruction is about Python
        ("Write a shell command that counts lines.", "Use:\n\n```\nwc -l notes.txt | sort -n\n```\n"),
        ("Write a JavaScript function that adds two numbers.", BROKEN.replace("```python", "```js")),
        (
            "Show how to call a function in the Python console.",
            "Like this:\n\n```python\n>>> def f(x):\n...     return x * 2\n...\n>>> f(4)\n8\n```\n",
        ),
    ],
)
def test_valid_or_other_code_passes(instruction, response):
    assert response_problem(instruction, response) is None


def test_cut_off_by_finish_reason():
    assert response_problem(SKY, ENGLISH_SKY, finish_reason="length").startswith("cut_off")
    assert response_problem(SKY, ENGLISH_SKY, finish_reason="stop") is None
    assert response_problem(SKY, ENGLISH_SKY, finish_reason=None) is None


def test_cut_off_code_is_reported_as_cut_off():
    truncated = "```python\ndef add(a, b):\n    return (a +"
    assert response_problem("Write a Python adder.", truncated, finish_reason="length").startswith("cut_off")
    assert response_problem("Write a Python adder.", truncated).startswith("code_does_not_parse")


def test_language_mismatch():
    assert response_problem(SKY, GERMAN, language="en") == "language_mismatch (expected en, detected de)"
    assert response_problem(SKY, GERMAN, language="de") is None
    assert response_problem(SKY, GERMAN) is None  # no language asked for: not judged
    assert response_problem(SKY, ENGLISH_SKY, language="en") is None
    assert response_problem(SKY, ENGLISH_SKY, language="de").startswith("language_mismatch")
    assert response_problem(SKY, LONG_GOOD, language="en-GB") is None


def test_short_texts_are_not_language_judged():
    assert response_problem(SKY, "Wegen der Streuung des Lichts an der Luft.", language="en") is None
    assert response_problem("What is the capital of Peru?", "Lima.", language="de") is None


def test_language_detection_ignores_code():
    response = (
        "Use the csv module from the standard library:\n\n```python\nimport csv\n\nwith open('data.csv') "
        "as f:\n    for row in csv.reader(f):\n        print(row)\n```\n\nEach row comes back as a list "
        "of strings, one per column, so convert numbers yourself before doing arithmetic."
    )
    assert response_problem("In Python, how can I read a CSV file?", response, language="en") is None


@pytest.mark.parametrize(
    "instruction,response",
    [
        ("My tomato leaves are turning yellow. What should I do?", LONG_GOOD),
        (SKY, ENGLISH_SKY),
        (
            # the word "sorry" late in an ordinary answer is fine
            "How do I apologise to a friend after missing their birthday?",
            "Start by reaching out soon rather than waiting for the perfect moment. Call or meet in "
            "person if you can, and keep it simple: tell them you are sorry you missed it, that you know "
            "it mattered to them, and that you want to make it up to them. Avoid long excuses. Then "
            "suggest a plan, such as taking them out for dinner next week.",
        ),
        (
            "Give me tips for a job interview.",
            LONG_GOOD.replace("tomato", "interview")
            + " If you are late, say you are sorry once and move on; nobody expects a long apology.",
        ),
        (
            "Write a short email declining a meeting invitation.",
            "Hi Sam,\n\nThank you for the invitation. I'm sorry, but I can't attend the meeting on "
            "Friday because I will be travelling. Could you share the notes afterwards?\n\nBest, Alex",
        ),
        (
            "In Python, how can I read a CSV file?",
            "Use the csv module:\n\n```python\nimport csv\n\nwith open('data.csv', newline='') as f:\n"
            "    for row in csv.reader(f):\n        print(row)\n```\n\nEach row is a list of strings.",
        ),
        ("Convert 5 miles to kilometres.", "5 miles is about 8.05 kilometres, since one mile is 1.609 km."),
    ],
)
def test_good_responses_pass(instruction, response):
    assert pair_problem(instruction, response, finish_reason="stop", language="en") is None


@pytest.mark.parametrize(
    "instruction,response",
    [
        # talking about language models is not self-reference
        (
            "Explain what GPT-2 is.",
            "As a language model, GPT-2 predicts the next token from the previous ones. It was trained "
            "on web text, and larger versions followed with more parameters and more data.",
        ),
        # idioms and quoted apologies are not refusals
        (
            "Write a poem about loss.",
            "I'm sorry for the ones we lost,\nThe morning light, the winter frost,\nI cannot help but "
            "count the cost,\nOf every bridge we never crossed.",
        ),
        (
            "How do I say no to extra work at the office?",
            "You can say: 'I'm sorry, but I can't take this on right now because my plate is full.' Then "
            "offer an alternative, such as a later date or a colleague who has more time.",
        ),
        (
            "Is it safe to eat raw cookie dough?",
            "Unfortunately, no: raw eggs and raw flour can carry bacteria.",
        ),
    ],
)
def test_look_alikes_pass(instruction, response):
    assert response_problem(instruction, response) is None


def test_empty_response():
    assert response_problem(SKY, "") == "empty"
    assert response_problem(SKY, "  \n\t") == "empty"


def test_pair_checks_the_instruction_first():
    assert (
        pair_problem("Sure! Here is a question:", "I'm sorry, but I can't help.")
        == "not_a_task (opens like a reply: Sure)"
    )
    assert pair_problem(SKY, "I'm sorry, but I can't help with that.").startswith("refusal")
    assert pair_problem("", "Lima.") == "empty"


def test_pair_instruction_language_mismatch():
    german_task = (
        "Erkläre bitte ausführlich, warum der Himmel am Tag blau ist und warum er bei "
        "Sonnenuntergang rot wird, und nenne dabei auch die Rolle der Moleküle in der Luft."
    )
    assert pair_problem(german_task, GERMAN, language="en").startswith("instruction_language_mismatch")
    # the English task/question word lists do not apply to other languages
    assert pair_problem(german_task, GERMAN, language="de") is None


def test_reasons_are_documented_and_emittable():
    assert VALIDATOR_VERSION == "validators-v1"
    assert len(set(REASONS)) == len(REASONS)
    emitted = {
        instruction_problem(""),
        instruction_problem("Sure! Here is a question:"),
        instruction_problem("As an AI language model, I can help."),
        response_problem(SKY, "I'm sorry, but I can't help with that."),
        response_problem(SKY, SKY),
        response_problem("Write Python.", BROKEN),
        response_problem(SKY, ENGLISH_SKY, finish_reason="length"),
        response_problem(SKY, GERMAN, language="en"),
    }
    names = {reason.split(" ")[0] for reason in emitted}
    assert names <= set(REASONS)
    assert set(REASONS) - names == {"instruction_language_mismatch"}  # covered above
    for reason in REASONS:
        assert re.fullmatch(r"[a-z_]+", reason)
        assert reason in validators.__doc__


def test_no_dagster_import():
    tree = ast.parse(open(validators.__file__).read())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "dagster" not in imported


def test_language_detection_ignores_unfenced_code():
    instruction = "Write a Python function that returns the largest even number in a list, or None."
    response = (
        "def largest_even(numbers):\n    evens = [n for n in numbers if n % 2 == 0]\n"
        "    return max(evens) if evens else None"
    )
    assert pair_problem(instruction, response, language="en") is None
