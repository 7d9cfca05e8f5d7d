// Small behaviours shared by every page: pop-ups (<dialog>) and copy buttons.
// Without JavaScript every control still works as a link or a form.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog) {
        event.preventDefault();
        if (dialog.open) dialog.close();
        dialog.showModal();
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    // A click on the backdrop (the dialog element itself, outside its content) closes it.
    if (event.target.tagName === "DIALOG" && event.target.open) {
      var box = event.target.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) event.target.close();
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      navigator.clipboard.writeText(copy.dataset.copy).then(function () {
        var label = copy.textContent;
        copy.textContent = "Copied";
        setTimeout(function () { copy.textContent = label; }, 1500);
      });
    }
  });

  // Choosing an item of a drop-down menu (a <details> with a .menu-panel) closes the menu, so it
  // is not still open behind, or after, the pop-up the item opens. Focus goes back to the menu's
  // button, where a closed pop-up returns it.
  document.addEventListener("click", function (event) {
    var item = event.target.closest("details > .menu-panel a, details > .menu-panel button");
    if (!item) return;
    var menu = item.closest("details");
    menu.open = false;
    menu.querySelector("summary").focus();
  });

  // Enter in a field marked data-enter-click presses that button (the IP ACL's Add, the first
  // tag suggestion) instead of submitting the whole form.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    var field = event.target.closest("[data-enter-click]");
    if (!field) return;
    event.preventDefault();
    var button = document.querySelector(field.dataset.enterClick);
    if (button) button.click();
  });

  // A live preview (the webhook form's) lists in data-fixed-fields the fields of its form that
  // now hold a valid value: the error shown under one since the form was submitted is stale, so
  // it goes while the user fixes the field. Submitting checks everything again.
  document.addEventListener("htmx:load", function (event) {
    var fixed = event.target.dataset && event.target.dataset.fixedFields;
    var form = fixed && event.target.closest("form");
    if (!form) return;
    fixed.split(" ").forEach(function (name) {
      var input = form.elements.namedItem(name);
      var field = input && input.closest && input.closest(".field");
      if (!field) return;
      input.removeAttribute("aria-invalid");
      field.classList.remove("has-error");
      field.querySelectorAll(".error").forEach(function (error) { error.remove(); });
    });
  });

  // A dialog marked data-show-on-swap opens as a pop-up when htmx fills it, replacing any other.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target.matches("dialog[data-show-on-swap]")) {
      document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
      target.showModal();
    }
  });
})();
