/* The first-login tour: one step at a time (without this script every step shows at once). */
(function () {
  const tour = document.querySelector("[data-tour]");
  if (!tour) return;
  const steps = [...tour.querySelectorAll(".tour-step")];
  const back = tour.querySelector("[data-tour-back]"), next = tour.querySelector("[data-tour-next]");
  const done = tour.querySelector("[data-tour-done]");
  let at = 0;
  function show() {
    steps.forEach((s, i) => { s.hidden = i !== at; });
    back.hidden = at === 0;
    next.hidden = at === steps.length - 1;
    done.hidden = at !== steps.length - 1;
    tour.querySelector(".tour-steps").setAttribute("start", at + 1);
  }
  back.addEventListener("click", () => { at = Math.max(0, at - 1); show(); });
  next.addEventListener("click", () => { at = Math.min(steps.length - 1, at + 1); show(); });
  show();
})();
