import pytest

from sessions_app.surfaces.bodhi.numbers import spoken_numbers_to_digits


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("twenty five thousand", "25000"),
        ("the loan is 25,000 rupees", "the loan is 25000 rupees"),
        ("It costs 1,250,000 and two hundred.", "It costs 1250000 and 200."),
        ("call me at nine eight seven", "call me at 9 8 7"),
        ("one, two, three", "1, 2, 3"),
    ],
)
def test_english_numbers_become_numerals(spoken, written):
    assert spoken_numbers_to_digits(spoken, "en") == written


def test_other_languages_pass_through():
    assert spoken_numbers_to_digits("पच्चीस लाख", "hi") == "पच्चीस लाख"
