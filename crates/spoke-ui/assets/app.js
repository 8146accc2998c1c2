// Progressive enhancement only: every page works without this script.
"use strict";

document.addEventListener("keydown", (event) => {
  // "/" jumps to the search box, as on most code hosts.
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  const box = document.getElementById("top-q");
  if (box) {
    event.preventDefault();
    box.focus();
  }
});

// The line named in the URL (#L12) scrolls into the middle of the view.
window.addEventListener("DOMContentLoaded", () => {
  const hash = window.location.hash;
  if (/^#L\d+$/.test(hash)) {
    const line = document.getElementById(hash.slice(1));
    if (line) line.scrollIntoView({ block: "center" });
  }
});
