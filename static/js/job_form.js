// Shows only the schedule inputs the chosen preset reads (the preset select lists
// them, from jobs/web/presets.py). The server builds the cron expression from them, on
// save and for the live preview, and ignores the inputs of other presets.
function showPresetFields(form) {
  const select = form.querySelector("[name=preset]");
  const inputs = JSON.parse(select.dataset.inputs);
  for (const name of new Set(Object.values(inputs).flat())) {
    form.querySelector(`[data-field=${name}]`).hidden = !inputs[select.value].includes(name);
  }
}

// Shows the inputs of the chosen "Runs" way only: a schedule, one time, or neither.
function showWhenFields(form) {
  const chosen = form.querySelector("[name=when]:checked")?.value || "schedule";
  for (const part of form.querySelectorAll("[data-when]")) {
    part.hidden = part.dataset.when !== chosen;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("job-form");
  showPresetFields(form);
  showWhenFields(form);
  form.querySelector("[name=preset]").addEventListener("change", () => showPresetFields(form));
  for (const choice of form.querySelectorAll("[name=when]")) {
    choice.addEventListener("change", () => showWhenFields(form));
  }
});
