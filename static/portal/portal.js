// Small progressive enhancements: dialogs, copy buttons. The portal works without them.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-dialog]");
  if (opener) {
    document.getElementById(opener.dataset.dialog)?.showModal();
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
