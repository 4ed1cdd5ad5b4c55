// Image upload with a progress bar: create the record, then PUT the bytes through the console.
"use strict";
(function () {
  const form = document.getElementById("image-upload");
  if (!form) return;
  const csrf = document.body.dataset.csrf;
  const bar = document.getElementById("img-progress");
  const state = document.getElementById("img-state");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = document.getElementById("img-file").files[0];
    if (!file) return;
    const fields = new URLSearchParams(new FormData(form));
    fields.delete("file");
    state.textContent = "creating…";
    const made = await fetch("/compute/images", {
      method: "POST", body: fields, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin",
    });
    if (!made.ok) { state.textContent = "refused: " + (await made.text()); return; }
    const { id } = await made.json();
    bar.hidden = false;
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", "/compute/images/" + encodeURIComponent(id) + "/file");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) {
        bar.value = (100 * e.loaded) / e.total;
        state.textContent = Math.floor(bar.value) + "%";
      }
    };
    xhr.onload = () => {
      if (xhr.status === 200) { bar.value = 100; state.textContent = "done"; location.reload(); }
      else state.textContent = "failed: " + xhr.responseText;
    };
    xhr.onerror = () => { state.textContent = "failed: the connection broke"; };
    xhr.send(file);
  });
})();
