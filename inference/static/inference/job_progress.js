// Polls a jobs panel (templates/inference/_study_jobs.html) every few seconds while a job is active,
// replacing it with the server's fresh rendering. Scripts inside the replaced HTML do not run again.
(function () {
  if (window.studyJobsPolling) return;
  window.studyJobsPolling = true;
  const INTERVAL_MS = 3000;

  async function refresh(panel) {
    const url = new URL(panel.dataset.pollUrl, window.location.href);
    url.searchParams.set("next", panel.dataset.next || window.location.pathname);
    const response = await fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}});
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const fresh = holder.querySelector("section.study-jobs");
    if (fresh) panel.replaceWith(fresh);
  }

  function tick() {
    const panels = document.querySelectorAll("section.study-jobs[data-active='1']");
    Promise.all(Array.from(panels, (panel) => refresh(panel).catch(() => {}))).finally(() => {
      setTimeout(tick, INTERVAL_MS);
    });
  }

  setTimeout(tick, INTERVAL_MS);
})();
