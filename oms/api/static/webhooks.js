// The Webhooks panel of the upload page: list subscriptions, add one (its secret is
// shown once), delete one after a confirmation, and show a subscription's latest
// deliveries with their attempts. It sends the API key the upload page keeps
// (localStorage "oms.apiKey"); when the API asks for one it opens the page's key dialog.
(() => {
  "use strict";

  const KEY_STORAGE = "oms.apiKey";
  const $ = (id) => document.getElementById(id);
  const panel = $("webhooks");
  if (!panel) return;
  const webhooksUrl = panel.dataset.webhooksUrl;

  function key() {
    try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
  }

  async function call(url, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set("Accept", "application/json");
    if (key()) headers.set("X-API-Key", key());
    const response = await fetch(url, { ...options, headers });
    const payload = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.status === 401 || response.status === 403) {
      // upload.js owns the key dialog; it answers with oms:api-key-saved.
      document.dispatchEvent(
        new CustomEvent("oms:api-key-needed", { detail: { status: response.status } }));
    }
    if (!response.ok) {
      throw new Error((payload && payload.message) || `The API answered ${response.status}.`);
    }
    return payload;
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function when(iso) {
    if (!iso) return "–";
    const moment = new Date(iso);
    return Number.isNaN(moment.getTime()) ? iso : moment.toLocaleString();
  }

  function showError(message) {
    const box = $("webhooks-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  async function refresh() {
    let hooks;
    try {
      hooks = await call(webhooksUrl);
    } catch (error) {
      showError(error.message);
      return;
    }
    showError("");
    const tbody = $("webhooks-body");
    tbody.replaceChildren();
    if (!hooks.length) {
      const row = element("tr", null, "empty");
      const cell = element("td", "No webhooks yet.");
      cell.colSpan = 4;
      row.append(cell);
      tbody.append(row);
      return;
    }
    for (const hook of hooks) {
      const row = element("tr");
      row.dataset.webhookId = hook.webhook_id;
      row.append(element("td", hook.url, "webhook-url"));
      row.append(element("td", hook.events.map((e) => e.replace("upload.", "")).join(", ")));
      row.append(element("td", when(hook.created_at)));
      const actions = element("td", null, "webhook-actions");
      const show = element("button", "Deliveries", "btn btn--ghost-dark webhook-deliveries");
      show.type = "button";
      show.addEventListener("click", () => deliveries(hook));
      const remove = element("button", "Delete", "btn btn--ghost-dark webhook-delete");
      remove.type = "button";
      remove.addEventListener("click", () => removeHook(hook));
      actions.append(show, remove);
      row.append(actions);
      tbody.append(row);
    }
  }

  async function removeHook(hook) {
    if (!window.confirm(`Delete the webhook to ${hook.url}? Deliveries not made yet are dropped.`)) {
      return;
    }
    try {
      await call(`${webhooksUrl}/${encodeURIComponent(hook.webhook_id)}`, { method: "DELETE" });
    } catch (error) {
      showError(error.message);
    }
    if ($("webhook-deliveries").dataset.webhookId === hook.webhook_id) {
      $("webhook-deliveries").hidden = true;
    }
    refresh();
  }

  async function deliveries(hook) {
    const box = $("webhook-deliveries");
    box.dataset.webhookId = hook.webhook_id;
    $("webhook-deliveries-title").textContent = `Latest deliveries to ${hook.url}`;
    const list = $("webhook-deliveries-list");
    list.replaceChildren();
    box.hidden = false;
    let found;
    try {
      found = await call(`${webhooksUrl}/${encodeURIComponent(hook.webhook_id)}/deliveries`);
    } catch (error) {
      list.append(element("li", error.message));
      return;
    }
    if (!found.length) list.append(element("li", "No deliveries yet.", "muted"));
    for (const delivery of found) {
      const item = element("li", null, "delivery");
      item.dataset.status = delivery.status;
      const head = element("div", null, "delivery__head");
      head.append(
        element("span", delivery.status, `badge delivery__status delivery__status--${delivery.status}`),
        element("span", ` ${delivery.event} · upload ${delivery.upload_id}`),
      );
      item.append(head);
      const attempts = element("ol", null, "delivery__attempts");
      for (const attempt of delivery.attempts) {
        const outcome = attempt.error || `HTTP ${attempt.status_code}`;
        attempts.append(element("li", `${when(attempt.at)} · ${outcome} · ${attempt.duration_ms} ms`));
      }
      if (delivery.status === "pending" && delivery.next_attempt_at) {
        attempts.append(element("li", `next attempt ${when(delivery.next_attempt_at)}`, "muted"));
      }
      item.append(attempts);
      list.append(item);
    }
  }

  $("webhook-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const events = [...panel.querySelectorAll("input[name=webhook-event]:checked")].map((box) => box.value);
    const url = $("webhook-url").value.trim();
    $("webhook-secret").hidden = true;
    try {
      const made = await call(webhooksUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ url, events }),
      });
      $("webhook-secret-value").textContent = made.secret;
      $("webhook-secret").hidden = false;
      $("webhook-url").value = "";
      showError("");
    } catch (error) {
      showError(error.message);
    }
    refresh();
  });

  $("webhooks-refresh").addEventListener("click", refresh);
  document.addEventListener("oms:api-key-saved", refresh);
  refresh();
})();
