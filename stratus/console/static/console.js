// Stratus console: small progressive enhancements. Every page works without this file,
// except uploads, which need a browser to send the files.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";

  // Forms that change something ask first.
  document.addEventListener("submit", function (ev) {
    const form = ev.target;
    const question = form.dataset && form.dataset.confirm;
    if (question && !window.confirm(question)) ev.preventDefault();
  }, true);

  // Select every shown object.
  const all = document.getElementById("pick-all");
  if (all) all.addEventListener("change", function () {
    document.querySelectorAll('#rows input[type=checkbox][name=name]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // Sort the rows already shown by a column (the server pages by name).
  document.querySelectorAll("table.sortable button.sort").forEach(function (button, idx) {
    button.addEventListener("click", function () {
      const table = button.closest("table");
      const body = table.tBodies[0];
      const offset = table.querySelector("th.pick") ? 1 : 0;
      const col = idx + offset;
      const dir = button.dataset.dir === "asc" ? "desc" : "asc";
      table.querySelectorAll("button.sort").forEach(function (b) {
        delete b.dataset.dir;
        b.closest("th").removeAttribute("aria-sort");
      });
      button.dataset.dir = dir;
      button.closest("th").setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
      const rows = Array.from(body.rows).filter(function (r) { return !r.classList.contains("more"); });
      const more = body.querySelector("tr.more");
      const key = function (row) {
        const cell = row.cells[col];
        const v = cell ? cell.dataset.value || "" : "";
        return button.dataset.col === "size" ? Number(v) : v;
      };
      rows.sort(function (a, b) {
        const x = key(a), y = key(b);
        const c = x < y ? -1 : x > y ? 1 : 0;
        return dir === "asc" ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
      if (more) body.appendChild(more);
    });
  });

  // Copy a share link.
  document.addEventListener("click", function (ev) {
    const id = ev.target.dataset && ev.target.dataset.copy;
    if (!id) return;
    const input = document.getElementById(id);
    input.select();
    if (navigator.clipboard) navigator.clipboard.writeText(input.value);
    ev.target.textContent = "Copied";
  });

  // Uploads: one PUT per file, streamed by the console to the object store,
  // with a progress bar each; three at a time.
  const zone = document.querySelector("section.upload");
  if (!zone) return;
  const uploadUrl = zone.dataset.uploadUrl;
  const multipartUrl = zone.dataset.multipart ? zone.dataset.multipartUrl : "";
  const PART_SIZE = 8 * 1024 * 1024;
  const SEGMENTED_OVER = 16 * 1024 * 1024;
  const prefix = zone.dataset.prefix || "";
  const list = document.getElementById("uploads");
  const queue = [];
  let running = 0;

  function human(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

  function add(file, path) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = path;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + path);
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = "waiting · " + human(file.size);
    li.append(label, bar, state);
    list.appendChild(li);
    queue.push({ file: file, path: path, bar: bar, state: state, li: li });
    pump();
  }

  function pump() {
    while (running < 3 && queue.length) {
      running++;
      send(queue.shift());
    }
  }

  function done(job) {
    job.bar.value = 100;
    job.state.textContent = "done · " + human(job.file.size);
    job.li.classList.add("done");
  }

  function fail(job, text) {
    job.li.classList.add("failed");
    job.state.textContent = "failed: " + String(text).slice(0, 120);
  }

  function send(job) {
    if (multipartUrl && job.file.size > SEGMENTED_OVER) {
      sendParts(job).then(function () { done(job); }, function (err) { fail(job, err.message || err); })
        .then(finished);
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", uploadUrl + "?path=" + encodeURIComponent(prefix + job.path));
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Content-Type", job.file.type || "application/octet-stream");
    xhr.upload.addEventListener("progress", function (ev) {
      if (!ev.lengthComputable) return;
      job.bar.value = Math.floor((ev.loaded / ev.total) * 99);
      job.state.textContent = human(ev.loaded) + " of " + human(ev.total);
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300) done(job);
      else fail(job, xhr.responseText || xhr.status);
      finished();
    });
    xhr.addEventListener("error", function () {
      fail(job, "connection lost");
      finished();
    });
    xhr.send(job.file);
  }

  // Large files go up in parts (S3 multipart, through the console). The upload id is kept
  // in localStorage: choosing the same file again after a reload sends only missing parts.
  function call(method, url, body, onProgress) {
    return new Promise(function (resolve, reject) {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      if (onProgress) xhr.upload.addEventListener("progress", onProgress);
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText || "{}"));
        else reject(new Error(xhr.responseText || String(xhr.status)));
      });
      xhr.addEventListener("error", function () { reject(new Error("connection lost")); });
      xhr.send(body === undefined ? null : body);
    });
  }

  async function sendParts(job) {
    const file = job.file;
    const name = prefix + job.path;
    const q = "?path=" + encodeURIComponent(name);
    const memo = "stratus-upload:" + multipartUrl + ":" + name + ":" + file.size + ":" + file.lastModified;
    const count = Math.ceil(file.size / PART_SIZE);
    let uploadId = localStorage.getItem(memo);
    const have = {};
    if (uploadId) {
      try {
        const known = await call("GET", multipartUrl + "/parts" + q + "&upload_id=" + encodeURIComponent(uploadId));
        known.parts.forEach(function (p) {
          const expected = p.n < count ? PART_SIZE : file.size - PART_SIZE * (count - 1);
          if (p.size === expected) have[p.n] = true;
        });
      } catch (e) {
        uploadId = null;
      }
    }
    if (!uploadId) {
      const started = await call("POST", multipartUrl + "/start" + q + "&type=" + encodeURIComponent(file.type || ""));
      uploadId = started.upload_id;
      localStorage.setItem(memo, uploadId);
    }
    const idq = q + "&upload_id=" + encodeURIComponent(uploadId);
    let sent = 0;
    for (let n = 1; n <= count; n++) {
      const start = (n - 1) * PART_SIZE;
      const part = file.slice(start, Math.min(file.size, start + PART_SIZE));
      if (have[n]) {
        sent += part.size;
        continue;
      }
      await call("PUT", multipartUrl + "/part" + idq + "&n=" + n, part, function (ev) {
        job.bar.value = Math.floor(((sent + ev.loaded) / file.size) * 99);
        job.state.textContent = human(sent + ev.loaded) + " of " + human(file.size) + " · part " + n + "/" + count;
      });
      sent += part.size;
    }
    await call("POST", multipartUrl + "/complete" + idq);
    localStorage.removeItem(memo);
  }

  function finished() {
    running--;
    pump();
    if (running === 0 && queue.length === 0) refresh();
  }

  // Redraw the listing and the container's counts once every upload has ended.
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (resp) { return resp.ok ? resp.text() : null; })
      .then(function (html) {
        if (html === null) return;
        const fresh = new DOMParser().parseFromString(html, "text/html");
        [["#rows", "#rows"], [".head .summary", ".head .summary"]].forEach(function (pair) {
          const now = document.querySelector(pair[0]);
          const next = fresh.querySelector(pair[1]);
          if (now && next) now.innerHTML = next.innerHTML;
        });
        const rows = document.getElementById("rows");
        if (window.htmx) window.htmx.process(rows);
      });
  }

  function fromInput(input) {
    Array.from(input.files).forEach(function (f) {
      add(f, f.webkitRelativePath || f.name);
    });
    input.value = "";
  }
  document.getElementById("file-input").addEventListener("change", function (ev) { fromInput(ev.target); });
  document.getElementById("folder-input").addEventListener("change", function (ev) { fromInput(ev.target); });

  function walk(entry, path) {
    if (entry.isFile) {
      entry.file(function (f) { add(f, path + f.name); });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      const more = function () {
        reader.readEntries(function (entries) {
          if (!entries.length) return;
          entries.forEach(function (e) { walk(e, path + entry.name + "/"); });
          more();
        });
      };
      more();
    }
  }

  const drop = document.getElementById("drop");
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (ev) { ev.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (ev) {
    ev.preventDefault();
    // Folders come as entries (walked for their files); a browser without entries, or a
    // drop it made itself, gives plain files.
    const items = Array.from(ev.dataTransfer.items || []);
    const entries = items.map(function (item) {
      return item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    }).filter(function (e) { return e; });
    if (entries.length) {
      entries.forEach(function (entry) { walk(entry, ""); });
    } else {
      Array.from(ev.dataTransfer.files).forEach(function (f) { add(f, f.name); });
    }
  });
  drop.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      document.getElementById("file-input").click();
    }
  });
})();
