// A plan being computed by the scheduler: poll its status every second and show it; once it is done,
// reload the page, which then shows the plan (or why there is none).
(function () {
  "use strict";
  const box = document.querySelector("[data-plan-status]");
  if (!box) {
    return;
  }
  const state = box.querySelector("[data-testid=plan-state]");
  const text = box.querySelector("[data-testid=progress]");
  const bar = box.querySelector("progress");

  function show(found) {
    state.textContent = found.label;
    text.textContent = found.text;
    if (found.status === "running") {
      bar.max = found.limit;
      bar.value = Math.min(found.elapsed, found.limit);
    } else {
      bar.removeAttribute("value");  // indeterminate while queued
    }
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.planStatus, {headers: {Accept: "application/json"}});
      if (response.ok) {
        const found = await response.json();
        if (found.done) {
          window.location.reload();
          return;
        }
        show(found);
      }
    } catch (error) {
      // the server restarts or the network drops: the next poll tries again
    }
    window.setTimeout(poll, 1000);
  }

  window.setTimeout(poll, 1000);
})();
