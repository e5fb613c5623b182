"""Schedule presets on the job form, turned into cron expressions in one place
(used both when the form is saved and by the live preview)."""

from dataclasses import dataclass

PRESETS = [
    ("every_minute", "Every minute"),
    ("every_n_minutes", "Every N minutes"),
    ("hourly", "Every hour at minute M"),
    ("daily", "Every day at a time"),
    ("weekly", "Every week on a day at a time"),
    ("monthly", "Every month on a day at a time"),
    ("custom", "Custom cron expression"),
]
WEEKDAYS = [
    (1, "Monday"),
    (2, "Tuesday"),
    (3, "Wednesday"),
    (4, "Thursday"),
    (5, "Friday"),
    (6, "Saturday"),
    (0, "Sunday"),
]
STEP_CHOICES = [2, 3, 4, 5, 6, 10, 12, 15, 20, 30]
# The form inputs each preset reads; the job form shows only these (static/js/job_form.js).
PRESET_INPUTS = {
    "every_minute": [],
    "every_n_minutes": ["every_n"],
    "hourly": ["at_minute"],
    "daily": ["at_time"],
    "weekly": ["weekday", "at_time"],
    "monthly": ["day_of_month", "at_time"],
    "custom": ["schedule"],
}


@dataclass
class PresetChoice:
    preset: str
    every_n: int = 5
    minute: int = 0
    hour: int = 0
    weekday: int = 1
    day_of_month: int = 1
    custom: str = ""

    def expression(self) -> str:
        match self.preset:
            case "every_minute":
                return "* * * * *"
            case "every_n_minutes":
                return f"*/{self.every_n} * * * *"
            case "hourly":
                return f"{self.minute} * * * *"
            case "daily":
                return f"{self.minute} {self.hour} * * *"
            case "weekly":
                return f"{self.minute} {self.hour} * * {self.weekday}"
            case "monthly":
                return f"{self.minute} {self.hour} {self.day_of_month} * *"
        return self.custom


def preset_for(expression: str) -> PresetChoice:
    """The preset a saved expression came from, so editing a job shows it again."""
    choice = matching_preset(expression)
    # Only a preset that rebuilds the very same text: saving an edit of the title must not
    # rewrite "0 9 * * 7" as "0 9 * * 0", which counts as a new schedule and moves the next run.
    if choice.expression() != expression:
        return PresetChoice("custom", custom=expression)
    return choice


def matching_preset(expression: str) -> PresetChoice:
    fields = expression.split()
    if len(fields) != 5:
        return PresetChoice("custom", custom=expression)
    minute, hour, day, month, weekday = fields
    if fields == ["*"] * 5:
        return PresetChoice("every_minute")
    if minute.startswith("*/") and minute[2:].isdigit() and fields[1:] == ["*"] * 4:
        step = int(minute[2:])
        if step in STEP_CHOICES:
            return PresetChoice("every_n_minutes", every_n=step)
    if minute.isdigit() and fields[1:] == ["*"] * 4:
        return PresetChoice("hourly", minute=int(minute))
    if minute.isdigit() and hour.isdigit() and month == "*":
        timing = {"minute": int(minute), "hour": int(hour)}
        if day == "*" and weekday == "*":
            return PresetChoice("daily", **timing)
        if day == "*" and weekday.isdigit():
            return PresetChoice("weekly", weekday=int(weekday) % 7, **timing)
        if day.isdigit() and weekday == "*":
            return PresetChoice("monthly", day_of_month=int(day), **timing)
    return PresetChoice("custom", custom=expression)
