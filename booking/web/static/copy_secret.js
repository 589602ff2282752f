// A secret shown once (a new API token, a new calendar address): a button copies it to the clipboard and says
// so. Without scripts, or where the page may not write to the clipboard (plain HTTP), the button stays hidden
// and the secret is selected by a click (user-select: all).
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) {
    return;
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    const secret = document.getElementById(button.dataset.copy);
    const box = button.parentElement;
    const said = box.querySelector("[role=status]");
    button.addEventListener("click", async function () {
      said.textContent = "";  // the same words again are announced again
      try {
        await navigator.clipboard.writeText(secret.textContent.trim());
        said.textContent = button.dataset.copied;
      } catch (error) {
        said.textContent = button.dataset.copyFailed;
      }
    });
    box.hidden = false;
  });
})();
