import pytest

from jobs.web.presets import PresetChoice, preset_for


@pytest.mark.parametrize(
    ("expression", "preset"),
    [
        ("* * * * *", PresetChoice("every_minute")),
        ("*/15 * * * *", PresetChoice("every_n_minutes", every_n=15)),
        ("*/2 * * * *", PresetChoice("every_n_minutes", every_n=2)),
        ("7 * * * *", PresetChoice("hourly", minute=7)),
        ("0 * * * *", PresetChoice("hourly", minute=0)),
        ("30 4 * * *", PresetChoice("daily", minute=30, hour=4)),
        ("45 23 * * 5", PresetChoice("weekly", minute=45, hour=23, weekday=5)),
        ("0 9 * * 0", PresetChoice("weekly", minute=0, hour=9, weekday=0)),
        ("15 6 31 * *", PresetChoice("monthly", minute=15, hour=6, day_of_month=31)),
    ],
)
def test_each_preset_shape_is_recognised_and_builds_the_same_expression(expression, preset):
    assert preset_for(expression) == preset
    assert preset_for(expression).expression() == expression


@pytest.mark.parametrize(
    "expression",
    [
        "*/7 * * * *",  # a step the "Every N minutes" list does not offer
        "0-30/5 * * * *",
        "0 */2 * * *",
        "0 9 * * 1-5",
        "0 9 1 1 *",
        "0 9 1 * 1",
        "0,30 * * * *",
        "05 * * * *",  # leading zero: the preset would save it as "5 * * * *"
        "0 9 * * 7",  # Sunday written as 7
        "0 9 * * MON",
        "@daily",
        "@hourly",
    ],
)
def test_unusual_expressions_fall_back_to_custom_unchanged(expression):
    choice = preset_for(expression)

    assert choice.preset == "custom"
    assert choice.expression() == expression


def test_a_custom_choice_keeps_the_expression_the_member_typed():
    assert PresetChoice("custom", custom="0 4 * * 1-5").expression() == "0 4 * * 1-5"
