// Served by the front end from the project's static directory (tests/conformance/guide.rs).
document.addEventListener("DOMContentLoaded", () => {
  document.body.dataset.ready = "yes";
});
