// The planner's week shows a block's text in a box while the block is hovered or focused (app.css). WCAG 1.4.13
// asks that such a box can be dismissed without moving the pointer or the focus: Escape hides it until the
// block is left (blur, pointer out). Without scripts the box still shows and hides with hover and focus.
(function () {
  "use strict";
  const grid = document.querySelector(".week-grid");
  if (!grid) {
    return;
  }
  grid.addEventListener("keydown", function (event) {
    const block = event.target.closest && event.target.closest(".block");
    if (event.key === "Escape" && block) {
      block.classList.add("dismissed");
    }
  });
  document.addEventListener("keydown", function (event) {  // a hovered block without the focus
    if (event.key === "Escape") {
      grid.querySelectorAll(".block:hover").forEach(function (block) { block.classList.add("dismissed"); });
    }
  });
  ["focusout", "mouseout"].forEach(function (type) {
    grid.addEventListener(type, function (event) {
      const block = event.target.closest && event.target.closest(".block");
      if (block && !block.contains(event.relatedTarget)) {
        block.classList.remove("dismissed");
      }
    });
  });
})();
