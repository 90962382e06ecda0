// Small progressive enhancements: menus, dialogs, confirmations, copy buttons. Every page works without them
// (each dialog has a page of its own); this file is static so a Content Security Policy without inline scripts allows it.
document.documentElement.classList.add("js");

function openModal(dialog) {
  if (!dialog || dialog.open) return;
  dialog.showModal();  // modal: focus moves inside, the page behind is inert, Escape closes it
  const first = dialog.querySelector("[autofocus], input:not([type=hidden]), button, a[href]");
  first?.focus();
}

document.addEventListener("click", (event) => {
  const menuButton = event.target.closest("[data-menu-toggle]");
  if (menuButton) {
    const open = menuButton.getAttribute("aria-expanded") !== "true";
    menuButton.setAttribute("aria-expanded", String(open));
    document.getElementById(menuButton.getAttribute("aria-controls"))?.classList.toggle("open", open);
    return;
  }
  const opener = event.target.closest("[data-dialog]");
  if (opener) {
    event.preventDefault();  // links fall back to a confirmation page of their own
    openModal(document.getElementById(opener.dataset.dialog));
    return;
  }
  const closer = event.target.closest("[data-close]");
  if (closer) {
    closer.closest("dialog")?.close();
    return;
  }
  const checkAll = event.target.closest("[data-check-all]");
  if (checkAll) {
    document.querySelectorAll(`input[name="${checkAll.dataset.checkAll}"]`).forEach((box) => { box.checked = true; });
    return;
  }
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.getElementById(copy.dataset.copy);
    navigator.clipboard?.writeText(source.textContent.trim()).then(() => {
      copy.textContent = "Copied";
      setTimeout(() => { copy.textContent = "Copy"; }, 2000);
    });
  }
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  // Rotating a key "Now" breaks integrations at once: ask in a dialog first.
  if (form.dataset.confirmNow && form.querySelector("input[name=grace]:checked")?.value === "now") {
    event.preventDefault();
    openModal(document.getElementById(form.dataset.confirmNow));
    return;
  }
  // Create Institution: ask the server whether the practice may already be live, and show it as a modal.
  if (form.dataset.matchCheck && event.submitter?.name !== "create_anyway") {
    event.preventDefault();
    const body = new FormData(form);
    fetch(form.dataset.matchCheck, { method: "POST", body, headers: { "X-Match-Check": "1" }, credentials: "same-origin" })
      .then((response) => (response.status === 200 ? response.text() : null))
      .then((html) => {
        if (!html) { form.submit(); return; }  // no match, or errors to show: submit for real
        const slot = document.getElementById("match-slot");
        slot.innerHTML = html;
        openModal(slot.querySelector("dialog"));
      })
      .catch(() => form.submit());
  }
});

// Deactivate: ticking a location means "Some locations"; the summary names exactly what stops.
function updateDeactivate(form) {
  const scope = form.querySelector("input[name=scope]:checked")?.value || "";
  const ticked = [...form.querySelectorAll("input[name=locations]:checked")];
  const whole = scope === "institution";
  const nameField = form.querySelector("[data-confirm-name]");
  if (nameField) nameField.hidden = !whole;
  const summary = form.querySelector("[data-deactivate-summary]");
  if (!summary) return;
  let text;
  if (whole) {
    text = summary.dataset.whole;
  } else if (ticked.length) {
    const names = ticked.map((box) => box.dataset.name).join(", ");
    text = `${ticked.length} location${ticked.length === 1 ? "" : "s"} selected. API access, syncing and billing stop for: ${names}. `
      + "Everything else keeps working.";
  } else {
    text = "Choose the whole institution, or tick the locations to deactivate.";
  }
  summary.textContent = text;
}

document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-deactivate]");
  if (!form) return;
  if (event.target.name === "locations" && event.target.checked) {
    const some = form.querySelector("input[name=scope][value=locations]");
    if (some) some.checked = true;
  }
  if (event.target.name === "scope" && event.target.value === "institution") {
    form.querySelectorAll("input[name=locations]").forEach((box) => { box.checked = false; });
  }
  updateDeactivate(form);
});

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-deactivate]").forEach(updateDeactivate);
  document.querySelectorAll("[data-menu-toggle]").forEach((button) => { button.hidden = false; });
});

// Create Institution: the time zone follows the state (the zone of most of its people) until the user picks one.
document.querySelectorAll("select[data-zone-from]").forEach((zone) => {
  const state = document.getElementById(zone.dataset.zoneFrom);
  if (!state) return;
  const zones = JSON.parse(zone.dataset.zones);
  zone.addEventListener("change", () => { zone.dataset.chosen = "1"; });
  state.addEventListener("change", () => {
    if (!zone.dataset.chosen && zones[state.value]) zone.value = zones[state.value];
  });
});
