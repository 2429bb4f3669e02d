// Polls an import run (templates/studies/_import_run.html) every two seconds while it is queued or running,
// showing its stage; once it has finished, the page is loaded again to show the result with every row error.
(function () {
  const INTERVAL_MS = 2000;

  async function poll(section) {
    const url = new URL(section.dataset.importPoll, window.location.href);
    url.searchParams.set("format", "json");
    const response = await fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}});
    if (!response.ok) return true;
    const progress = await response.json();
    const status = section.querySelector("[data-import-status]");
    const stage = section.querySelector("[data-import-stage]");
    if (status) status.textContent = progress.status_display;
    if (stage) stage.textContent = progress.stage;
    if (!progress.active) {
      window.location.reload();
      return false;
    }
    return true;
  }

  function tick() {
    const section = document.querySelector("[data-import-poll][data-active='1']");
    if (!section) return;
    poll(section).catch(() => true).then((again) => {
      if (again) setTimeout(tick, INTERVAL_MS);
    });
  }

  setTimeout(tick, INTERVAL_MS);
})();
