// The upload page: send a CSV with XMLHttpRequest (for upload progress), follow its
// processing by polling GET /uploads/<id>, and keep a table of recent uploads fresh.
// Every call carries the API key from localStorage, asked for once when the API says 401/403.
(() => {
  "use strict";

  const KEY_STORAGE = "oms.apiKey";
  const KEY_HEADER = "X-API-Key";
  const POLL_MS = 700;
  const TABLE_MS = 4000;
  const TERMINAL = new Set(["completed", "failed", "rejected", "cancelled"]);
  const STATUS_TEXT = {
    uploading: "Uploading", queued: "Queued", splitting: "Splitting", processing: "Processing",
    finalizing: "Finalizing", completed: "Completed", failed: "Failed", rejected: "Rejected",
    cancelled: "Cancelled",
  };
  const REFUSAL_TITLES = {
    empty_file: "The file is empty",
    no_file: "No file was sent",
    too_large: "The file is too large",
    not_csv: "This is not a CSV file",
    not_multipart: "The file could not be sent",
    missing_columns: "Required columns are missing",
    same_file: "This file was uploaded before",
    unauthorized: "An API key is needed",
    forbidden: "The API key was refused",
  };

  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const uploadUrl = body.dataset.uploadUrl;
  const uploadsUrl = body.dataset.uploadsUrl;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---------------------------------------------------------------- API key and calls

  let keyPrompt = null; // one open dialog, shared by every call that was refused meanwhile
  let keyDeclined = false; // after Cancel, stop asking until the user opens the dialog

  function storedKey() {
    try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
  }

  function saveKey(key) {
    try { localStorage.setItem(KEY_STORAGE, key); } catch { /* private mode: keep nothing */ }
    memoryKey = key;
  }

  let memoryKey = storedKey();
  const currentKey = () => storedKey() || memoryKey;

  function askKey(status, { force = false } = {}) {
    $("key-button").hidden = false;
    if (keyDeclined && !force) return Promise.resolve(false);
    if (keyPrompt) return keyPrompt;
    const dialog = $("key-dialog");
    const input = $("key-input");
    $("key-title").textContent =
      status === 403 ? "API key refused" : status === 401 ? "API key needed" : "API key";
    $("key-reason").textContent = status === 403
      ? "The API did not accept this key. Enter a valid key; it is kept in this browser only."
      : status === 401
        ? "This OMS asks for an API key. Enter it once; it is kept in this browser only."
        : "The key this page sends with every request; it is kept in this browser only.";
    input.value = "";
    keyPrompt = new Promise((resolve) => {
      const finish = (saved) => {
        dialog.removeEventListener("close", onClose);
        keyPrompt = null;
        keyDeclined = !saved;
        resolve(saved);
      };
      const onClose = () => {
        const key = input.value.trim();
        if (dialog.returnValue === "save" && key) {
          saveKey(key);
          finish(true);
        } else {
          finish(false);
        }
      };
      dialog.addEventListener("close", onClose);
      dialog.returnValue = "";
      dialog.showModal();
      input.focus();
    });
    return keyPrompt;
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("key-input").value.trim()) { $("key-input").focus(); return; }
    $("key-dialog").close("save");
  });
  $("key-cancel").addEventListener("click", () => $("key-dialog").close("cancel"));
  $("key-button").addEventListener("click", async () => {
    if (await askKey(0, { force: true })) keySaved();
  });
  // Other panels of the page (webhooks.js) ask through this event with the status the
  // API gave them, so the dialog says why whichever call was refused first.
  document.addEventListener("oms:api-key-needed", async (event) => {
    if (await askKey(event.detail.status)) keySaved();
  });
  function keySaved() {
    refreshTable();
    document.dispatchEvent(new CustomEvent("oms:api-key-saved"));
  }
  if (currentKey()) $("key-button").hidden = false;

  class ApiError extends Error {
    constructor(status, payload) {
      super((payload && payload.message) || `The API answered ${status}.`);
      this.status = status;
      this.code = (payload && payload.code) || "";
      this.payload = payload || {};
    }
  }

  /** fetch() with the API key; asks for a key and repeats the call on 401/403. */
  async function apiFetch(url, options = {}) {
    for (;;) {
      const headers = new Headers(options.headers || {});
      const key = currentKey();
      if (key) headers.set(KEY_HEADER, key);
      const response = await fetch(url, { ...options, headers });
      if ((response.status === 401 || response.status === 403) && await askKey(response.status)) {
        continue;
      }
      return response;
    }
  }

  async function apiJson(url, options = {}) {
    const response = await apiFetch(url, {
      ...options, headers: { Accept: "application/json", ...(options.headers || {}) },
    });
    const payload = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, payload);
    return payload;
  }

  /** POST the file as multipart/form-data, reporting upload progress to onProgress(0..1). */
  function sendFile(file, onProgress, options = {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      const query = new URLSearchParams();
      if (options.force) query.set("force", "true");
      if (options.check) query.set("check", "true");
      if (options.mapping) query.set("mapping", JSON.stringify(options.mapping));
      const search = query.toString();
      xhr.open("POST", search ? `${uploadUrl}?${search}` : uploadUrl);
      xhr.setRequestHeader("Accept", "application/json");
      const key = currentKey();
      if (key) xhr.setRequestHeader(KEY_HEADER, key);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        let payload = null;
        try { payload = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        resolve({ status: xhr.status, payload });
      };
      xhr.onerror = () => reject(new Error("The upload did not reach the API (network error)."));
      xhr.onabort = () => reject(new Error("The upload was cancelled."));
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
  }

  // ---------------------------------------------------------------- formatting

  const number = (value) => (value ?? 0).toLocaleString();

  function formatBytes(bytes) {
    if (bytes == null) return "";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toLocaleString(undefined, { maximumFractionDigits: unit ? 1 : 0 })} ${units[unit]}`;
  }

  function formatDuration(seconds) {
    if (seconds == null) return "";
    if (seconds < 60) return `${seconds.toLocaleString(undefined, { maximumFractionDigits: 1 })} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function formatTime(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    const today = new Date().toDateString() === date.toDateString();
    return today
      ? date.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit", second: "2-digit" })
      : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function setBadge(element, status) {
    element.dataset.status = status;
    element.textContent = STATUS_TEXT[status] || status;
  }

  // ---------------------------------------------------------------- the current upload

  let generation = 0; // a new upload stops following the previous one
  let transferring = false;

  function showRefusal(error, title) {
    const box = $("upload-error");
    $("upload-error-title").textContent = title || REFUSAL_TITLES[error.code] || "The file was refused";
    $("upload-error-message").textContent = error.message;
    const missing = error.payload && error.payload.missing;
    const list = $("missing-columns");
    list.replaceChildren();
    if (Array.isArray(missing) && missing.length) {
      for (const name of missing) {
        const item = document.createElement("li");
        item.className = "chip";
        item.textContent = name;
        list.append(item);
      }
    }
    $("missing-block").hidden = !list.children.length;
    // Missing columns the file probably has under other names: offer to read them so.
    const hints = error.code === "missing_columns" && error.payload ? error.payload.suggestions : null;
    const pairs = $("mapping-pairs");
    pairs.replaceChildren();
    refused.mapping = null;
    if (hints && Object.keys(hints).length) {
      refused.mapping = {};
      for (const [wanted, found] of Object.entries(hints)) {
        refused.mapping[found] = wanted;
        const item = document.createElement("li");
        item.className = "chip";
        item.textContent = `${found} → ${wanted}`;
        pairs.append(item);
      }
    }
    $("mapping-block").hidden = !refused.mapping;
    const repeat = error.code === "same_file" && error.payload ? error.payload : null;
    $("repeat-block").hidden = !repeat;
    refused.earlierUrl = repeat ? repeat.status_url : null;
    box.hidden = false;
  }

  // The file last refused (for "Upload it again anyway") and the upload it repeats.
  const refused = { file: null, earlierUrl: null, mapping: null };

  $("repeat-force").addEventListener("click", () => {
    if (refused.file) startUpload(refused.file, { force: true });
  });
  $("mapping-use").addEventListener("click", () => {
    if (refused.file && refused.mapping) startUpload(refused.file, { mapping: refused.mapping });
  });
  $("repeat-show").addEventListener("click", () => {
    if (!refused.earlierUrl) return;
    $("upload-error").hidden = true;
    const current = $("current");
    current.hidden = false;
    $("current-title").textContent = refused.file ? refused.file.name : "";
    $("current-meta").textContent = "uploaded before";
    $("transfer-label").textContent = "Uploaded";
    setTransfer(1);
    follow(refused.earlierUrl, ++generation);
  });

  function resetCurrent(file) {
    const current = $("current");
    current.hidden = false;
    current.dataset.uploadId = "";
    current.dataset.status = "uploading";
    $("current-title").textContent = file.name;
    $("current-meta").textContent = formatBytes(file.size);
    setBadge($("current-badge"), "uploading");
    $("transfer-label").textContent = "Uploading";
    $("transfer-progress").value = 0;
    $("transfer-value").textContent = "0%";
    $("processing-block").hidden = true;
    $("counts").hidden = true;
    $("current-error").hidden = true;
    $("current-actions").hidden = true;
    $("current-status").textContent = `Uploading ${file.name}`;
  }

  function setTransfer(fraction) {
    const percent = Math.round(fraction * 100);
    $("transfer-progress").value = percent;
    $("transfer-value").textContent = `${percent}%`;
  }

  async function startUpload(file, options = {}) {
    if (!file || transferring) return;
    refused.file = file;
    const mine = ++generation;
    $("upload-error").hidden = true;
    resetCurrent(file);
    transferring = true;
    $("upload-form").classList.add("is-busy");
    let result;
    try {
      for (;;) {
        result = await sendFile(file, setTransfer, options);
        if ((result.status === 401 || result.status === 403) && await askKey(result.status)) {
          setTransfer(0);
          continue;
        }
        break;
      }
    } catch (error) {
      $("current").hidden = true;
      showRefusal({ message: error.message, payload: {} }, "The upload failed");
      return;
    } finally {
      transferring = false;
      $("upload-form").classList.remove("is-busy");
    }
    if (result.status !== 202) {
      $("current").hidden = true;
      const error = new ApiError(result.status, result.payload);
      showRefusal(error);
      $("current-status").textContent = `${file.name} was refused: ${error.message}`;
      return;
    }
    const accepted = result.payload;
    setTransfer(1);
    $("transfer-label").textContent = "Uploaded";
    $("current").dataset.uploadId = accepted.upload_id;
    $("current-meta").textContent = `${formatBytes(accepted.size)} · upload ${accepted.upload_id}`;
    refreshTable();
    follow(accepted.status_url, mine);
  }

  async function follow(statusUrl, mine) {
    let lastStatus = "";
    while (mine === generation) {
      try {
        const upload = await apiJson(statusUrl);
        if (mine !== generation) return;
        $("current-error").hidden = true;
        renderCurrent(upload, lastStatus);
        lastStatus = upload.status;
        // A completed upload's orders are still being finalized while some are on hold.
        const waiting = upload.status === "completed" && upload.order_status
          && upload.order_status.on_hold > 0;
        const undoing = upload.undo && upload.undo.status === "running";
        if (TERMINAL.has(upload.status) && !waiting && !undoing) {
          refreshTable();
          return;
        }
      } catch (error) {
        if (mine !== generation) return;
        const box = $("current-error");
        box.textContent = `Could not read the upload's progress: ${error.message} Trying again…`;
        box.hidden = false;
      }
      await sleep(POLL_MS);
    }
  }

  function renderCurrent(upload, lastStatus) {
    const current = $("current");
    const { status } = upload;
    const counts = upload.counts || {};
    const chunks = upload.chunks || { total: 0, done: 0, failed: 0 };
    current.dataset.uploadId = upload.upload_id;
    current.dataset.status = status;
    setBadge($("current-badge"), status);
    if (upload.check_only && status === "completed") $("current-badge").textContent = "Checked";

    const bar = $("processing-progress");
    $("processing-block").hidden = false;
    if (chunks.total > 0) {
      bar.max = chunks.total;
      bar.value = chunks.done + chunks.failed + (chunks.cancelled || 0);
      const failed = chunks.failed ? ` · ${number(chunks.failed)} failed` : "";
      const cancelled = chunks.cancelled ? ` · ${number(chunks.cancelled)} cancelled` : "";
      const stopping = upload.cancel_requested && !TERMINAL.has(status) ? " · stopping" : "";
      $("processing-value").textContent =
        `${number(chunks.done)} / ${number(chunks.total)} chunks${failed}${cancelled}${stopping}`;
    } else if (TERMINAL.has(status)) {
      bar.max = 1;
      bar.value = 1;
      $("processing-value").textContent = "";
    } else {
      bar.removeAttribute("value"); // indeterminate until the file is split
      $("processing-value").textContent = status === "queued" ? "waiting for a worker" : "splitting the file";
    }
    $("processing-label").textContent = TERMINAL.has(status) ? "Processed" : "Processing";

    $("counts").hidden = false;
    $("count-rows").textContent = number(counts.rows);
    $("count-valid").textContent = number(counts.valid);
    $("count-invalid").textContent = number(counts.invalid);
    $("count-duplicate").textContent = number(counts.duplicate);
    const orders = upload.order_status;
    $("order-counts").hidden = !orders || !counts.valid;
    if (orders) {
      for (const name of ["confirmed", "backordered", "on_hold", "cancelled"]) {
        $(`order-${name}`).textContent = number(orders[name] || 0);
      }
    }

    renderWrong(upload);

    const errorBox = $("current-error");
    if (upload.error && (status === "failed" || status === "rejected")) {
      errorBox.textContent = upload.error;
      errorBox.hidden = false;
    }

    const download = $("current-download");
    const done = TERMINAL.has(status);
    download.hidden = !upload.invalid_file_url;
    if (upload.invalid_file_url) {
      download.href = upload.invalid_file_url;
      download.dataset.filename = `invalid-${upload.invalid_file}`;
      download.textContent = `Download ${number(counts.invalid)} invalid rows`;
    }
    const commit = $("current-commit");
    commit.hidden = !(upload.check_only && status === "completed" && !upload.committed_as);
    commit.dataset.commitUrl = `${upload.status_url}/commit`;
    const retry = $("current-retry");
    retry.hidden = status !== "failed";
    retry.dataset.retryUrl = `${upload.status_url}/retry`;
    const stop = $("current-stop");
    stop.hidden = done || Boolean(upload.cancel_requested);
    stop.dataset.cancelUrl = `${upload.status_url}/cancel`;
    const undo = upload.undo || null;
    const undoButton = $("current-undo");
    undoButton.hidden = !["completed", "cancelled", "failed"].includes(status)
      || upload.check_only || !counts.valid || (undo && undo.status !== "failed");
    undoButton.dataset.undoUrl = `${upload.status_url}/undo`;
    undoButton.textContent = undo && undo.status === "failed" ? "Undo: go on" : "Undo: cancel its orders";
    renderUndo(undo);
    $("current-duration").textContent = upload.duration_s != null
      ? `Finished in ${formatDuration(upload.duration_s)}` : "";
    $("current-actions").hidden = !done && !upload.invalid_file_url && stop.hidden;

    if (status !== lastStatus) {
      const detail = status === "completed"
        ? `: ${number(counts.valid)} valid, ${number(counts.invalid)} invalid rows`
        : upload.error ? `: ${upload.error}` : "";
      $("current-status").textContent = `${upload.filename} ${STATUS_TEXT[status] || status}${detail}`;
    }
  }

  // ---------------------------------------------------------------- stop and undo

  function renderUndo(undo) {
    const box = $("current-undo-progress");
    box.hidden = !undo;
    if (!undo) return;
    const bar = $("undo-progress");
    bar.max = Math.max(undo.blocks_total, 1);
    bar.value = undo.blocks_total ? undo.blocks_done : 1;
    const kept = undo.kept ? `, ${number(undo.kept)} kept (fulfilled)` : "";
    const text = {
      running: `Undoing: ${number(undo.cancelled)} orders cancelled so far${kept}`,
      done: `Undone: ${number(undo.cancelled)} orders cancelled${kept}`,
      failed: `The undo stopped: ${undo.error || "unknown error"}. ${number(undo.cancelled)} cancelled so far.`,
    }[undo.status] || undo.status;
    $("undo-value").textContent = text;
  }

  async function postAction(button, url, failure) {
    button.disabled = true;
    try {
      const upload = await apiJson(url, { method: "POST" });
      renderCurrent(upload, "");
      follow(upload.status_url, ++generation);
      refreshTable();
    } catch (error) {
      const box = $("current-error");
      box.textContent = `${failure}: ${error.message}`;
      box.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  $("current-stop").addEventListener("click", () => {
    const button = $("current-stop");
    if (!window.confirm("Stop this upload? Chunks not yet processed will not be; orders already stored stay.")) return;
    postAction(button, button.dataset.cancelUrl, "The upload could not be stopped");
  });

  $("current-undo").addEventListener("click", () => {
    const button = $("current-undo");
    if (!window.confirm("Cancel every order of this upload? Their stock goes back; shipped orders are kept.")) return;
    postAction(button, button.dataset.undoUrl, "The upload could not be undone");
  });

  // ---------------------------------------------------------------- commit a check

  $("current-commit").addEventListener("click", async () => {
    const button = $("current-commit");
    if (!window.confirm("Store these orders, publish them and reserve their stock?")) return;
    button.disabled = true;
    try {
      const accepted = await apiJson(button.dataset.commitUrl, { method: "POST" });
      button.hidden = true;
      $("current").dataset.uploadId = accepted.upload_id;
      $("current").dataset.status = accepted.status; // the check's "completed" no longer
      $("current-meta").textContent = `${formatBytes(accepted.size)} · upload ${accepted.upload_id}`;
      refreshTable();
      follow(accepted.status_url, ++generation);
    } catch (error) {
      const box = $("current-error");
      box.textContent = `The check could not be committed: ${error.message}`;
      box.hidden = false;
    } finally {
      button.disabled = false;
    }
  });

  // ---------------------------------------------------------------- what is wrong

  const INVALID_PAGE = 10;
  const wrong = { uploadId: null, shown: -1, cursor: null, next: null };

  function renderBars(list, counted) {
    const entries = Object.entries(counted || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const top = entries.length ? entries[0][1] : 1;
    list.replaceChildren(...entries.map(([name, n]) => {
      const item = document.createElement("li");
      item.className = "bars__item";
      const label = document.createElement("span");
      label.className = "bars__label";
      label.textContent = name;
      const track = document.createElement("span");
      track.className = "bars__track";
      const fill = document.createElement("span");
      fill.className = "bars__fill";
      fill.style.width = `${Math.max(2, Math.round((n / top) * 100))}%`;
      track.append(fill);
      const value = document.createElement("span");
      value.className = "bars__value num";
      value.textContent = number(n);
      item.append(label, track, value);
      item.setAttribute("aria-label", `${name}: ${number(n)} rows`);
      return item;
    }));
  }

  function renderWrong(upload) {
    const invalid = (upload.counts || {}).invalid || 0;
    $("wrong").hidden = !invalid;
    if (!invalid) return;
    const by = upload.invalid_by || {};
    renderBars($("chart-field"), by.field);
    renderBars($("chart-rule"), by.rule);
    if (wrong.uploadId !== upload.upload_id) {
      Object.assign(wrong, { uploadId: upload.upload_id, shown: -1, cursor: null, next: null });
    }
    // The first page follows the upload while it runs; a later page stays as it is.
    if (wrong.cursor === null && wrong.shown !== invalid) {
      wrong.shown = invalid;
      loadInvalidRows(upload.status_url, null);
    }
  }

  async function loadInvalidRows(statusUrl, cursor) {
    const query = new URLSearchParams({ page_size: String(INVALID_PAGE) });
    if (cursor) query.set("cursor", cursor);
    let page;
    try {
      page = await apiJson(`${statusUrl}/invalid-rows?${query}`);
    } catch (error) {
      return; // the counts above still say how many; the next poll tries again
    }
    wrong.cursor = cursor;
    wrong.next = page.next;
    wrong.statusUrl = statusUrl;
    $("invalid-body").replaceChildren(...page.items.map((row) => {
      const tr = document.createElement("tr");
      tr.append(cell(number(row.row_number), "num"), cell(row.cells.order_id || ""), cell(row.errors));
      return tr;
    }));
    $("invalid-next").hidden = !page.next;
    $("invalid-first").hidden = !cursor;
  }

  $("invalid-next").addEventListener("click", () => loadInvalidRows(wrong.statusUrl, wrong.next));
  $("invalid-first").addEventListener("click", () => {
    wrong.shown = -1;
    loadInvalidRows(wrong.statusUrl, null);
  });

  // ---------------------------------------------------------------- recent uploads

  let tableTimer = null;
  let tableLoading = false;
  let tableCursor = null; // null: the newest uploads; else the `next` of the page before
  let olderCursor = null;

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    if (text instanceof Node) td.append(text); else td.textContent = text;
    return td;
  }

  function orderSummary(orders) {
    if (!orders) return "—";
    const parts = [["confirmed", "confirmed"], ["backordered", "backordered"],
      ["on_hold", "on hold"], ["cancelled", "cancelled"]]
      .filter(([name]) => orders[name] > 0)
      .map(([name, label]) => `${number(orders[name])} ${label}`);
    return parts.length ? parts.join(" · ") : "—";
  }

  function uploadRow(upload) {
    const counts = upload.counts || {};
    const tr = document.createElement("tr");
    tr.dataset.uploadId = upload.upload_id;
    tr.dataset.status = upload.status;

    const name = document.createElement("span");
    name.className = "filename";
    name.textContent = upload.filename;
    name.title = `${upload.filename} · ${formatBytes(upload.size)} · ${upload.upload_id}`;
    tr.append(cell(name));

    const badge = document.createElement("span");
    badge.className = "badge";
    setBadge(badge, upload.status);
    if (upload.error) badge.title = upload.error;
    tr.append(cell(badge));

    tr.append(cell(number(counts.rows), "num"));
    tr.append(cell(number(counts.valid), "num"));
    tr.append(cell(number(counts.invalid), "num"));
    tr.append(cell(orderSummary(upload.order_status), "small"));
    const started = cell(formatTime(upload.created_at), "nowrap");
    if (upload.created_at) started.title = new Date(upload.created_at).toLocaleString();
    tr.append(started);
    tr.append(cell(upload.duration_s != null ? formatDuration(upload.duration_s) : "—", "num"));

    const actions = document.createElement("div");
    actions.className = "row-actions";
    if (upload.invalid_file_url) {
      const link = document.createElement("a");
      link.href = upload.invalid_file_url;
      link.dataset.download = "";
      link.dataset.filename = `invalid-${upload.invalid_file}`;
      link.textContent = "Invalid rows";
      link.setAttribute("aria-label", `Download the invalid rows of ${upload.filename}`);
      actions.append(link);
    }
    if (upload.status === "failed") {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn--small";
      button.dataset.retryUrl = `${upload.status_url}/retry`;
      button.dataset.uploadId = upload.upload_id;
      button.textContent = "Retry";
      button.setAttribute("aria-label", `Retry ${upload.filename}`);
      actions.append(button);
    }
    tr.append(cell(actions, "actions"));
    return tr;
  }

  async function refreshTable() {
    if (tableLoading) return;
    clearTimeout(tableTimer);
    if (document.hidden) { // a background tab does not poll; visibilitychange resumes
      tableTimer = setTimeout(refreshTable, TABLE_MS);
      return;
    }
    tableLoading = true;
    try {
      const query = tableCursor ? `&cursor=${encodeURIComponent(tableCursor)}` : "";
      const page = await apiJson(`${uploadsUrl}?page_size=20${query}`);
      olderCursor = page.next;
      $("recent-older").hidden = !page.next;
      $("recent-newest").hidden = !tableCursor;
      const tbody = $("recent-body");
      // Keep keyboard focus on the same control across the rebuild.
      const focused = tbody.contains(document.activeElement) ? document.activeElement : null;
      const focusKey = focused && (focused.dataset.retryUrl || focused.getAttribute("href"));
      const rows = page.items.map(uploadRow);
      if (!rows.length) {
        const tr = document.createElement("tr");
        tr.className = "empty";
        tr.append(cell("No uploads yet. Drop a CSV above to start."));
        tr.firstChild.colSpan = 9;
        rows.push(tr);
      }
      tbody.replaceChildren(...rows);
      if (focusKey) {
        for (const control of tbody.querySelectorAll("a, button")) {
          if ((control.dataset.retryUrl || control.getAttribute("href")) === focusKey) {
            control.focus();
            break;
          }
        }
      }
      $("recent-error").hidden = true;
      const shown = tableCursor ? " · older uploads" : "";
      $("recent-updated").textContent = `Updated ${new Date().toLocaleTimeString()}${shown}`;
    } catch (error) {
      const box = $("recent-error");
      box.textContent = `Could not load the uploads: ${error.message}`;
      box.hidden = false;
    } finally {
      tableLoading = false;
      tableTimer = setTimeout(refreshTable, TABLE_MS);
    }
  }

  // ---------------------------------------------------------------- actions

  function filenameFrom(response, fallback) {
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="?([^";]+)"?/i.exec(disposition);
    return match ? match[1] : fallback;
  }

  /** A plain link cannot send the API key, so fetch the CSV and save it from a Blob. */
  async function download(link) {
    const label = link.textContent;
    link.setAttribute("aria-busy", "true");
    try {
      const response = await apiFetch(link.href, { headers: { Accept: "text/csv" } });
      if (!response.ok) {
        const payload = await response.json().catch(() => null);
        throw new ApiError(response.status, payload);
      }
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const save = document.createElement("a");
      save.href = url;
      save.download = filenameFrom(response, link.dataset.filename || "invalid.csv");
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      const box = $("recent-error");
      box.textContent = `Could not download ${label}: ${error.message}`;
      box.hidden = false;
    } finally {
      link.removeAttribute("aria-busy");
    }
  }

  async function retry(button) {
    button.disabled = true;
    try {
      const upload = await apiJson(button.dataset.retryUrl, { method: "POST" });
      if ($("current").dataset.uploadId === upload.upload_id) {
        $("current-error").hidden = true;
        renderCurrent(upload, "");
        follow(upload.status_url, ++generation);
      }
    } catch (error) {
      const box = $("recent-error");
      box.textContent = `Could not retry: ${error.message}`;
      box.hidden = false;
    } finally {
      button.disabled = false;
      refreshTable();
    }
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-download]");
    if (link) {
      event.preventDefault();
      download(link);
      return;
    }
    const button = event.target.closest("button[data-retry-url]");
    if (button && !button.hidden) retry(button);
  });

  // ---------------------------------------------------------------- choosing a file

  const input = $("file-input");
  const zone = $("dropzone");

  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    if (file) startUpload(file, { check: $("check-only").checked });
    input.value = ""; // choosing the same file again is a new upload
  });

  // A file dropped next to the zone must not make the browser navigate away to it.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => event.preventDefault());
  }
  let dragDepth = 0;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    dragDepth += 1;
    zone.classList.add("is-dragover");
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) zone.classList.remove("is-dragover");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    dragDepth = 0;
    zone.classList.remove("is-dragover");
    const file = event.dataTransfer.files && event.dataTransfer.files[0];
    if (file) startUpload(file);
  });

  // Older pages follow the listing's `next` cursor; "Newest" goes back to the start.
  $("recent-older").addEventListener("click", () => {
    if (!olderCursor) return;
    tableCursor = olderCursor;
    refreshTable();
  });
  $("recent-newest").addEventListener("click", () => {
    tableCursor = null;
    refreshTable();
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refreshTable();
  });

  refreshTable();
})();
