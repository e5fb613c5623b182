// Shows only the schedule inputs the chosen preset uses. The server builds the
// cron expression from them (on save and for the live preview), not this script.
const PRESET_FIELDS = {
  every_minute: [],
  every_n_minutes: ["every_n"],
  hourly: ["at_minute"],
  daily: ["at_time"],
  weekly: ["weekday", "at_time"],
  monthly: ["day_of_month", "at_time"],
  custom: ["schedule"],
};

function showPresetFields(form) {
  const preset = form.querySelector("[name=preset]").value;
  for (const name of ["every_n", "at_minute", "weekday", "day_of_month", "at_time", "schedule"]) {
    const used = PRESET_FIELDS[preset].includes(name);
    form.querySelector(`[data-field=${name}]`).hidden = !used;
    // A hidden input is not sent (nor checked), so a value left in a preset the member
    // moved away from cannot fail the form with an error they cannot see.
    form.querySelector(`[name=${name}]`).disabled = !used;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("job-form");
  showPresetFields(form);
  form.querySelector("[name=preset]").addEventListener("change", () => showPresetFields(form));
});
